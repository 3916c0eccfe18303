"""The running X sandbox: data added as it runs, its request log, fault switches, python -m xapi.sandbox."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.xapi import sandbox_support
from tests.xapi.sandbox_support import PROBLEM, Caller, all_pages
from xapi.sandbox import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_100_LIKES,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    XSandbox,
)

ROOT = Path(__file__).resolve().parents[2]

# The sandbox tests' shared fixture: a Caller signing requests for this test's sandbox.
x = sandbox_support.x


# ----- run-time changes -----

async def test_new_likers_come_first_and_pages_cut_before_stay_stable(x: Caller, sandbox: XSandbox) -> None:
    path = f"/2/tweets/{POST_7_LIKES}/liking_users"
    _, _, first = await x.get(path, {"max_results": "5"})
    added = sandbox.add_likers(POST_7_LIKES, 3)
    assert len(added) == 3
    # The token cut before the new likes still leads to the 2 likers after the first 5: no repeats.
    _, _, second = await x.get(path, {"max_results": "5", "pagination_token": first["meta"]["next_token"]})
    assert len(second["data"]) == 2
    assert not {u["id"] for u in first["data"]} & {u["id"] for u in second["data"]}
    _, _, fresh = await x.get(path, {"max_results": "5"})
    assert [u["id"] for u in fresh["data"][:3]] == added
    _, _, post = await x.get(f"/2/tweets/{POST_7_LIKES}", {"tweet.fields": "public_metrics"})
    assert post["data"]["public_metrics"]["like_count"] == 10


async def test_likers_stay_capped_at_the_newest_100(x: Caller, sandbox: XSandbox) -> None:
    added = sandbox.add_likers(POST_100_LIKES, 3)
    pages = await all_pages(x, f"/2/tweets/{POST_100_LIKES}/liking_users", 100)
    assert len(pages) == 1 and len(pages[0]) == 100
    assert pages[0][:3] == added


async def test_new_liked_posts_come_first(x: Caller, sandbox: XSandbox) -> None:
    added = sandbox.add_liked_posts(4)
    _, _, body = await x.get(f"/2/users/{OWNER_ID}/liked_tweets", {"max_results": "5"})
    assert [p["id"] for p in body["data"][:4]] == added
    assert sum(len(p) for p in await all_pages(x, f"/2/users/{OWNER_ID}/liked_tweets", 100)) == 254


async def test_per_endpoint_rate_limits_and_unknown_paths() -> None:
    async with XSandbox(rate_limits={"me": 5}) as sandbox, aiohttp.ClientSession() as session:
        x = Caller(session, sandbox.base_url)
        assert (await x.get("/2/users/me"))[1]["x-rate-limit-limit"] == "5"
        assert (await x.get(f"/2/tweets/{POST_7_LIKES}"))[1]["x-rate-limit-limit"] == "75"
        status, _, body = await x.get("/2/tweets/search/recent")
        assert status == 404
        assert body == {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
        assert sandbox.requests[-1].status == 404


def test_likers_can_only_be_added_to_posts_the_sandbox_has() -> None:
    with pytest.raises(ValueError):
        XSandbox().add_likers("1", 1)


# ----- the request log -----

async def test_a_sandbox_without_bodies_still_logs_requests() -> None:
    async with XSandbox(record_bodies=False) as sandbox, aiohttp.ClientSession() as session:
        await Caller(session, sandbox.base_url).get("/2/users/me")
        assert [r.status for r in sandbox.requests] == [200]
        assert sandbox.exchanges == []


async def test_a_sandbox_without_bodies_keeps_only_the_latest_requests() -> None:
    # bot.py --sandbox runs for days: its request log must not grow with every request.
    async with XSandbox(record_bodies=False, request_log_size=3) as sandbox, \
            aiohttp.ClientSession() as session:
        x = Caller(session, sandbox.base_url)
        for username in ("a1", "a2", "a3", "a4"):
            await x.get(f"/2/users/by/username/{username}", auth="bearer")
        await x.get("/2/users/me")
        assert len(sandbox.requests) == 3
        assert [r.path.rsplit("/", 1)[-1] for r in sandbox.requests] == ["a3", "a4", "me"]
        assert [r.status for r in sandbox.requests] == [200, 200, 200]
        assert len(sandbox.requests_to("by/username")) == 2 and sandbox.requests[-1].path == "/2/users/me"
        # Slow answers finish after later requests arrived and pushed theirs out: each lands in its own row.
        sandbox.faults.latency_seconds = 0.05
        await asyncio.gather(*(x.get(f"/2/users/by/username/b{i}", auth="bearer") for i in range(5)))
        assert len(sandbox.requests) == 3
        assert all(r.status == 200 and r.path.startswith("/2/users/by/username/b") for r in sandbox.requests)


# ----- fault switches -----

async def test_server_error_ratio_fails_every_kth_request(x: Caller, sandbox: XSandbox) -> None:
    sandbox.faults.server_error_ratio = 0.5
    statuses = [(await x.get(f"/2/tweets/{POST_7_LIKES}"))[0] for _ in range(4)]
    assert statuses == [200, 503, 200, 503]


async def test_malformed_json_html_errors_and_usage_cap(x: Caller, sandbox: XSandbox) -> None:
    sandbox.faults.malformed_json = True
    status, _, body = await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert status == 200 and isinstance(body, str) and body.startswith("{")
    sandbox.faults.malformed_json = False
    sandbox.faults.usage_capped = True
    status, _, body = await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert (status, body["type"]) == (429, PROBLEM + "usage-capped")
    sandbox.faults.html_errors = True
    status, headers, body = await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert status == 429 and headers["Content-Type"].startswith("text/html") and "<html>" in body


async def test_reset_connections_drop_the_connection_and_latency_delays_the_answer(
    x: Caller, sandbox: XSandbox,
) -> None:
    sandbox.faults.reset_connections = True
    with pytest.raises(aiohttp.ClientConnectionError):
        await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert sandbox.requests[-1].status == 0
    sandbox.faults.reset_connections = False
    sandbox.faults.latency_seconds = 0.05
    assert (await x.get(f"/2/tweets/{POST_7_LIKES}"))[0] == 200


# ----- running it standalone -----

def test_python_m_xapi_sandbox_logs_its_url_and_credentials_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "xapi.sandbox", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        # The first line naming the sandbox (a warning printed before it would not count).
        line = next((text for text in iter(process.stdout.readline, "") if "X sandbox at" in text), "")
        assert "X sandbox at http://127.0.0.1:" in line
        for credential in (SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_BEARER_TOKEN):
            assert credential in line
        found = re.search(r"X_API_BASE_URL=(\S+)", line)
        assert found is not None
        url = found.group(1)
        status = asyncio.run(_get_status(f"{url}/2/users/by/username/{OWNER_USERNAME}"))
        assert status == 200
        # Its consent page serves the sandbox's own app with the bot's default callback URL.
        found = re.search(r"X_AUTHORIZE_URL=(\S+)", line)
        assert found is not None and found.group(1) == f"{url}/i/oauth2/authorize"
        consent = {
            "response_type": "code", "client_id": SANDBOX_CLIENT_ID, "scope": "tweet.read users.read",
            "redirect_uri": "http://127.0.0.1:8080/x/callback", "state": "s", "code_challenge": "c" * 43,
            "code_challenge_method": "S256",
        }
        assert asyncio.run(_get_status(f"{found.group(1)}?{urlencode(consent)}")) == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _get_status(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(
        url, headers={"Authorization": f"Bearer {SANDBOX_BEARER_TOKEN}"},
    ) as response:
        return response.status


def test_xapi_never_imports_discord() -> None:
    code = "import sys, xapi.sandbox, xapi.refs; sys.exit(1 if 'discord' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
