"""The sandbox's Activity API over raw HTTP: who may create, list, delete and stream; backfill honours
`backfill_minutes`; the spec checks cover what a stream sends; the simulated trickle of likes."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from tests.spec.xspec import check_response
from tests.xapi.support import SettableClock, oauth1
from xapi.activity import ActivityClient
from xapi.auth import BearerAuth, OAuth2UserAuth
from xapi.sandbox import (
    OWNER_ID,
    POST_7_LIKES,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    XSandbox,
)

BEARER = {"Authorization": f"Bearer {SANDBOX_BEARER_TOKEN}"}
WAIT = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]


async def user_token(session: aiohttp.ClientSession, sandbox: XSandbox) -> dict[str, str]:
    """An OAuth 2.0 user access token of the owner (refreshed from the sandbox's refresh token)."""
    auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token)
    return {"Authorization": await auth.authorization(session, sandbox.base_url, "GET", sandbox.base_url)}


def subscribe_owner(sandbox: XSandbox) -> None:
    now = datetime.fromtimestamp(sandbox.clock(), UTC)
    sandbox.subscriptions.add("like.create", OWNER_ID, "inbound", "t", now)


async def read_lines(response: aiohttp.ClientResponse, n: int) -> list[dict[str, object]]:
    """The next `n` JSON objects of a stream (keep-alive lines skipped)."""
    found: list[dict[str, object]] = []
    async with asyncio.timeout(WAIT):
        while len(found) < n:
            line = await response.content.readline()
            if line.strip():
                found.append(json.loads(line))
    return found


@pytest.mark.off_spec_requests
async def test_the_stream_and_delete_take_only_the_apps_bearer(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    user = await user_token(session, sandbox)
    async with session.get(f"{sandbox.base_url}/2/activity/stream", headers=user) as response:
        assert response.status == 403
        assert (await response.json())["type"].endswith("unsupported-authentication")
    async with session.delete(f"{sandbox.base_url}/2/activity/subscriptions/1890000000000000001",
                              headers=user) as response:
        assert response.status == 403
    async with session.get(f"{sandbox.base_url}/2/activity/stream?backfill_minutes=6",
                           headers=BEARER) as response:
        assert response.status == 400


async def test_the_apps_bearer_cannot_subscribe_to_a_private_event(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    body = {"event_type": "like.create", "filter": {"user_id": OWNER_ID, "direction": "inbound"}}
    async with session.post(f"{sandbox.base_url}/2/activity/subscriptions", json=body, headers=BEARER) as r:
        assert r.status == 403
        assert "private event" in (await r.json())["detail"]
    assert sandbox.subscriptions.by_id == {}


async def test_backfill_replays_only_the_minutes_asked_for(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    clock = SettableClock()
    sandbox.clock = clock
    subscribe_owner(sandbox)
    old = sandbox.add_likers(POST_7_LIKES, 1)
    clock.advance(3 * 60)
    recent = sandbox.add_likers(POST_7_LIKES, 1)
    clock.advance(60)
    url = f"{sandbox.base_url}/2/activity/stream?backfill_minutes=2"
    async with session.get(url, headers=BEARER) as response:
        assert response.status == 200
        [replayed] = await read_lines(response, 1)
        live = sandbox.add_likers(POST_7_LIKES, 1)
        [fresh] = await read_lines(response, 1)
    likers = [event["data"]["includes"]["users"][0]["id"] for event in (replayed, fresh)]  # type: ignore[index]
    assert likers == [recent[0], live[0]]
    assert old[0] not in likers


async def test_a_stream_event_is_checked_against_the_spec(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    subscribe_owner(sandbox)
    async with session.get(f"{sandbox.base_url}/2/activity/stream", headers=BEARER) as response:
        sandbox.add_likers(POST_7_LIKES, 1)
        [event] = await read_lines(response, 1)
    streamed = [e for e in sandbox.exchanges if e.request.path == "/2/activity/stream" and e.body is not None]
    assert [e.body for e in streamed] == [event]
    assert check_response("tweet", "GET", "/2/activity/stream", 200, event) == []
    # The check can fail: a filter key the spec does not declare, or a like id off its pattern.
    bad_filter = {"data": {**event["data"], "filter": {"user_id": OWNER_ID, "account": "x"}}}  # type: ignore[dict-item]
    assert check_response("tweet", "GET", "/2/activity/stream", 200, bad_filter) != []


async def test_simulated_likes_trickle_in_as_events_until_stopped(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    subscribe_owner(sandbox)
    async with session.get(f"{sandbox.base_url}/2/activity/stream", headers=BEARER) as response:
        sandbox.start_simulated_likes(0.01)
        events = await read_lines(response, 3)
        sandbox.stop_simulated_likes()
    posts = {e["data"]["payload"]["liked_tweet_id"] for e in events}  # type: ignore[index]
    assert posts <= {p.id for p in sandbox.world.posts.values() if p.author_id == OWNER_ID}
    with pytest.raises(ValueError, match="positive"):
        sandbox.start_simulated_likes(0)


async def test_the_standalone_sandbox_trickles_likes_with_simulated_likes(
    session: aiohttp.ClientSession,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "xapi.sandbox", "--port", str(port), "--simulated-likes", "0.05",
        stderr=asyncio.subprocess.PIPE, cwd=REPO_ROOT)
    try:
        assert process.stderr is not None
        async with asyncio.timeout(WAIT):
            while b"X sandbox at" not in await process.stderr.readline():
                pass
        base = f"http://127.0.0.1:{port}"
        client = ActivityClient(session, base_url=base, bearer=BearerAuth(SANDBOX_BEARER_TOKEN))
        await client.create_subscription(oauth1(), OWNER_ID, "inbound", "demo")
        async with session.get(f"{base}/2/activity/stream", headers=BEARER) as response:
            [event] = await read_lines(response, 1)
        assert event["data"]["event_type"] == "like.create"  # type: ignore[index]
    finally:
        process.terminate()
        await process.wait()
