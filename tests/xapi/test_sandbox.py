"""The X sandbox: seeded data, X's auth rules, pagination, rate limits, fault switches and spec conformance.

Requests are made with plain aiohttp and oauthlib here (not XClient), so these tests pin down the
server's behaviour on its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from oauthlib.oauth1 import Client as OAuth1Signer
from yarl import URL

from tests.spec.xspec import Naming, check_request, check_response, exchange_problems
from xapi.sandbox import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_100_LIKES,
    POST_DELETED,
    POST_MANY_LIKES,
    POST_NO_LIKES,
    POST_OTHER_ACCOUNT,
    POST_OWNER_PINNED,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    USER_OTHER_ID,
    USER_PROTECTED_ID,
    USER_PROTECTED_USERNAME,
    USER_SUSPENDED_USERNAME,
    XSandbox,
)
from xapi.sandbox import data as sandbox_data

ROOT = Path(__file__).resolve().parents[2]
USER_FIELDS = "created_at,description,verified,public_metrics,protected,profile_image_url"
PROBLEM = "https://api.x.com/2/problems/"


class SettableClock:
    """A clock the test moves by hand (rate windows, token expiry)."""

    def __init__(self) -> None:
        self.now = datetime.now().timestamp()

    def __call__(self) -> float:
        return self.now


class Caller:
    """Sends requests to a sandbox with one kind of credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def get(
        self, path: str, query: dict[str, str] | None = None, *, auth: str = "oauth1",
        secret: str = SANDBOX_API_SECRET, token: str = SANDBOX_BEARER_TOKEN,
    ) -> tuple[int, dict[str, str], Any]:
        url = self.base_url + path + ("?" + urlencode(query, safe=",") if query else "")
        headers: dict[str, str] = {}
        if auth == "oauth1":
            signer = OAuth1Signer(SANDBOX_API_KEY, secret, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET)
            url, signed, _ = signer.sign(url)
            headers.update(signed)
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.get(URL(url, encoded=True), headers=headers) as response:
            text = await response.text()
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            return response.status, dict(response.headers), body

    async def refresh(
        self, refresh_token: str, *, secret: str | None = SANDBOX_CLIENT_SECRET,
    ) -> tuple[int, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": SANDBOX_CLIENT_ID}
        headers: dict[str, str] = {}
        if secret is not None:
            pair = base64.b64encode(f"{SANDBOX_CLIENT_ID}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        url = self.base_url + "/2/oauth2/token"
        async with self.session.post(url, data=form, headers=headers) as response:
            return response.status, await response.json()


@pytest_asyncio.fixture
async def x(sandbox: XSandbox) -> AsyncIterator[Caller]:
    async with aiohttp.ClientSession() as session:
        yield Caller(session, sandbox.base_url)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def all_pages(x: Caller, path: str, size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        query = {"max_results": str(size)} | ({"pagination_token": token} if token else {})
        status, _, body = await x.get(path, query)
        assert status == 200, body
        pages.append([item["id"] for item in body.get("data", [])])
        token = body["meta"].get("next_token")
        if token is None:
            return pages


# ----- seeded data -----

def test_no_seeded_post_lists_more_likers_than_its_like_count() -> None:
    world = sandbox_data.build_world(datetime(2026, 8, 22, tzinfo=UTC))
    short = {post_id: (post.like_count, len(world.likers.get(post_id, [])))
             for post_id, post in world.posts.items()
             if post.like_count < len(world.likers.get(post_id, []))}
    assert short == {}
    assert world.posts[POST_MANY_LIKES].like_count == 140


@pytest.mark.parametrize(("post_id", "like_count", "likers"), [
    (POST_NO_LIKES, 0, 0), (POST_7_LIKES, 7, 7), (POST_100_LIKES, 100, 100), (POST_MANY_LIKES, 140, 100),
])
async def test_seeded_posts_have_their_likers_and_only_100_are_ever_returned(
    x: Caller, post_id: str, like_count: int, likers: int,
) -> None:
    _, _, post = await x.get(f"/2/tweets/{post_id}", {"tweet.fields": "public_metrics,author_id"})
    assert post["data"]["public_metrics"]["like_count"] == like_count
    assert post["data"]["author_id"] == OWNER_ID
    pages = await all_pages(x, f"/2/tweets/{post_id}/liking_users", 30)
    ids = [i for page in pages for i in page]
    assert len(ids) == len(set(ids)) == likers
    full, rest = divmod(likers, 30)
    assert [len(p) for p in pages] == ([30] * full + ([rest] if rest else []) if likers else [0])


async def test_a_post_without_likes_answers_an_empty_page_without_data(x: Caller) -> None:
    status, _, body = await x.get(f"/2/tweets/{POST_NO_LIKES}/liking_users")
    assert status == 200
    assert body == {"meta": {"result_count": 0}}


async def test_the_owner_liked_250_posts_in_pages_forward_and_back(x: Caller) -> None:
    path = f"/2/users/{OWNER_ID}/liked_tweets"
    assert [len(p) for p in await all_pages(x, path, 100)] == [100, 100, 50]
    _, _, first = await x.get(path, {"max_results": "100"})
    _, _, second = await x.get(path, {"max_results": "100", "pagination_token": first["meta"]["next_token"]})
    assert "previous_token" not in first["meta"]
    previous = second["meta"]["previous_token"]
    _, _, back = await x.get(path, {"max_results": "100", "pagination_token": previous})
    assert [p["id"] for p in back["data"]] == [p["id"] for p in first["data"]]
    assert back["meta"]["next_token"] == first["meta"]["next_token"]


async def test_owner_recent_posts_are_within_the_last_7_days_newest_first(
    x: Caller, sandbox: XSandbox,
) -> None:
    status, _, body = await x.get(f"/2/users/{OWNER_ID}/tweets", {
        "max_results": "100", "tweet.fields": "created_at,author_id",
    }, auth="bearer")
    assert status == 200
    created = [datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) for p in body["data"]]
    now = datetime.fromtimestamp(sandbox.clock()).astimezone()
    assert all(now - timedelta(days=7) <= c <= now for c in created)
    assert created == sorted(created, reverse=True)
    ids = {p["id"] for p in body["data"]}
    assert {POST_NO_LIKES, POST_7_LIKES, POST_100_LIKES, POST_MANY_LIKES, POST_OWNER_PINNED} <= ids
    assert POST_DELETED not in ids and POST_OTHER_ACCOUNT not in ids
    assert {p["author_id"] for p in body["data"]} == {OWNER_ID}


async def test_recent_posts_honour_the_time_and_id_window(x: Caller, sandbox: XSandbox) -> None:
    path = f"/2/users/{OWNER_ID}/tweets"
    _, _, everything = await x.get(path, {"max_results": "100", "tweet.fields": "created_at"}, auth="bearer")
    posts = everything["data"]
    assert [int(p["id"]) for p in posts] == sorted((int(p["id"]) for p in posts), reverse=True)
    since = datetime.fromtimestamp(int(sandbox.clock()) - 24 * 3600, UTC)
    start = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    _, _, day = await x.get(path, {"start_time": start, "tweet.fields": "created_at"}, auth="bearer")
    expected = [p["id"] for p in posts if parse_time(p["created_at"]) >= since]
    assert 0 < len(expected) < len(posts)
    assert [p["id"] for p in day["data"]] == expected
    _, _, newer = await x.get(path, {"since_id": posts[3]["id"]}, auth="bearer")
    assert [p["id"] for p in newer["data"]] == [p["id"] for p in posts[:3]]
    _, _, older = await x.get(path, {"until_id": posts[-2]["id"]}, auth="bearer")
    assert [p["id"] for p in older["data"]] == [posts[-1]["id"]]


@pytest.mark.off_spec_requests
async def test_a_malformed_start_time_is_an_invalid_request(x: Caller) -> None:
    status, _, body = await x.get(f"/2/users/{OWNER_ID}/tweets", {"start_time": "yesterday"}, auth="bearer")
    assert (status, body["type"]) == (400, PROBLEM + "invalid-request")
    assert check_request("tweet", "GET", f"/2/users/{OWNER_ID}/tweets", {"start_time": "yesterday"}, "bearer")


async def test_likers_look_like_real_accounts(x: Caller) -> None:
    _, _, body = await x.get(f"/2/tweets/{POST_MANY_LIKES}/liking_users", {
        "user.fields": USER_FIELDS, "expansions": "pinned_tweet_id", "tweet.fields": "created_at",
    })
    names = [u["name"] for u in body["data"]]
    assert any(any(0x0590 <= ord(c) <= 0x06FF for c in n) for n in names)  # right-to-left scripts
    assert any(any(ord(c) > 0x1F000 for c in n) for n in names)  # emoji
    assert any("**" in n or "`" in n or "~~" in n for n in names)  # markdown
    assert any(u["verified"] for u in body["data"]) and not all(u["verified"] for u in body["data"])
    for user in body["data"]:
        metrics = set(user["public_metrics"])
        assert metrics >= {"followers_count", "following_count", "tweet_count", "listed_count"}
        datetime.fromisoformat(user["created_at"].replace("Z", "+00:00"))
    pinned = {u["pinned_tweet_id"] for u in body["data"] if "pinned_tweet_id" in u}
    assert pinned and pinned == {p["id"] for p in body["includes"]["tweets"]}


async def test_protected_and_suspended_accounts(x: Caller) -> None:
    locked_path = f"/2/users/by/username/{USER_PROTECTED_USERNAME}"
    _, _, locked = await x.get(locked_path, {"user.fields": "protected"}, auth="bearer")
    assert locked["data"]["protected"] is True
    _, _, posts = await x.get(f"/2/users/{USER_PROTECTED_ID}/tweets", auth="bearer")
    assert "data" not in posts
    assert posts["errors"][0]["type"] == PROBLEM + "not-authorized-for-resource"
    status, _, gone = await x.get(f"/2/users/by/username/{USER_SUSPENDED_USERNAME}", auth="bearer")
    assert status == 200 and "data" not in gone
    assert "suspended" in gone["errors"][0]["detail"]


async def test_a_deleted_post_is_resource_not_found(x: Caller) -> None:
    for path in (f"/2/tweets/{POST_DELETED}", f"/2/tweets/{POST_DELETED}/liking_users"):
        status, _, body = await x.get(path)
        assert status == 200 and "data" not in body
        assert body["errors"][0]["type"] == PROBLEM + "resource-not-found"
        assert body["errors"][0]["resource_id"] == POST_DELETED


@pytest.mark.parametrize("naming", ["tweet", "post"])
async def test_a_batch_lookup_returns_the_posts_it_has_and_a_partial_error_per_missing_id(
    x: Caller, sandbox: XSandbox, naming: Naming,
) -> None:
    unknown = "1999999999999999999"
    fields = "tweet.fields" if naming == "tweet" else "post.fields"
    query = {"ids": f"{POST_7_LIKES},{POST_DELETED},{POST_MANY_LIKES},{unknown}",
             fields: "created_at,public_metrics", "expansions": "author_id", "user.fields": USER_FIELDS}
    status, _, body = await x.get("/2/tweets", query, auth="bearer")
    assert status == 200
    assert [(p["id"], p["public_metrics"]["like_count"]) for p in body["data"]] == [
        (POST_7_LIKES, 7), (POST_MANY_LIKES, 140)]
    assert [u["id"] for u in body["includes"]["users"]] == [OWNER_ID]
    assert [(e["resource_id"], e["type"]) for e in body["errors"]] == [
        (POST_DELETED, PROBLEM + "resource-not-found"), (unknown, PROBLEM + "resource-not-found")]
    assert sandbox.exchanges[-1].naming == naming
    assert check_response(naming, "GET", "/2/tweets", status, body) == []
    assert check_request(naming, "GET", "/2/tweets", query, "bearer") == []


async def test_a_batch_lookup_of_only_missing_ids_has_no_data(x: Caller) -> None:
    status, _, body = await x.get("/2/tweets", {"ids": POST_DELETED})
    assert status == 200 and "data" not in body
    assert [e["resource_id"] for e in body["errors"]] == [POST_DELETED]


@pytest.mark.off_spec_requests
@pytest.mark.parametrize("ids", ["", ",".join(str(10**17 + i) for i in range(101)), f"{POST_7_LIKES},12a"])
async def test_a_batch_lookup_refuses_no_ids_over_100_ids_or_a_malformed_id(x: Caller, ids: str) -> None:
    status, _, body = await x.get("/2/tweets", {"ids": ids} if ids else None, auth="bearer")
    assert status == 400
    assert body["type"] == PROBLEM + "invalid-request"
    assert list(body["errors"][0]["parameters"]) == ["ids"]


# ----- X's auth rules -----

@pytest.mark.off_spec_requests
@pytest.mark.parametrize("path", [
    f"/2/tweets/{POST_7_LIKES}/liking_users", f"/2/users/{OWNER_ID}/liked_tweets", "/2/users/me",
])
async def test_an_app_only_bearer_gets_unsupported_authentication_on_user_context_endpoints(
    x: Caller, path: str,
) -> None:
    status, _, body = await x.get(path, auth="bearer")
    assert status == 403
    assert body["type"] == PROBLEM + "unsupported-authentication"


@pytest.mark.parametrize("path", [
    f"/2/tweets/{POST_7_LIKES}", f"/2/users/by/username/{OWNER_USERNAME}", f"/2/users/{OWNER_ID}/tweets",
    f"/2/tweets?ids={POST_7_LIKES}",
])
async def test_an_app_only_bearer_reads_public_lookups(x: Caller, sandbox: XSandbox, path: str) -> None:
    status, _, _ = await x.get(path, auth="bearer")
    assert status == 200
    assert sandbox.requests[-1].auth_kind == "bearer"


async def test_likes_of_another_account_are_not_authorized(x: Caller) -> None:
    status, _, body = await x.get(f"/2/users/{USER_OTHER_ID}/liked_tweets")
    assert (status, body["type"]) == (403, PROBLEM + "not-authorized-for-resource")
    status, _, body = await x.get(f"/2/tweets/{POST_OTHER_ACCOUNT}/liking_users")
    assert (status, body["type"]) == (403, PROBLEM + "not-authorized-for-resource")


async def test_oauth1_signatures_are_checked_for_real(x: Caller, sandbox: XSandbox) -> None:
    query = {"user.fields": USER_FIELDS, "expansions": "pinned_tweet_id"}
    status, _, body = await x.get("/2/users/me", query)
    assert status == 200 and body["data"]["id"] == OWNER_ID
    status, _, body = await x.get("/2/users/me", query, secret="wrong-secret")
    assert status == 401
    assert body == {"errors": [{"code": 32, "message": "Could not authenticate you."}]}
    assert [r.auth_kind for r in sandbox.requests] == ["oauth1", "invalid"]


async def test_a_signature_over_another_url_or_a_replayed_nonce_is_refused(
    x: Caller, sandbox: XSandbox,
) -> None:
    signer = OAuth1Signer(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET,
    )
    signed_url, headers, _ = signer.sign(f"{sandbox.base_url}/2/users/me?user.fields=created_at")
    tampered = signed_url.replace("created_at", "verified")
    async with x.session.get(URL(tampered, encoded=True), headers=headers) as response:
        assert response.status == 401
    signed_url, headers, _ = signer.sign(f"{sandbox.base_url}/2/users/me")
    async with x.session.get(URL(signed_url, encoded=True), headers=headers) as response:
        assert response.status == 200
    async with x.session.get(URL(signed_url, encoded=True), headers=headers) as response:
        assert response.status == 401


@pytest.mark.parametrize(("age", "status"), [(60, 200), (3600, 401), (-3600, 401)])
async def test_oauth1_timestamps_are_accepted_within_ten_minutes(
    x: Caller, sandbox: XSandbox, age: int, status: int,
) -> None:
    signer = OAuth1Signer(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET,
        timestamp=str(int(datetime.now().timestamp()) - age),
    )
    signed_url, headers, _ = signer.sign(f"{sandbox.base_url}/2/users/me")
    async with x.session.get(URL(signed_url, encoded=True), headers=headers) as response:
        assert response.status == status


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


@pytest.mark.off_spec_requests
@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eA=="},
])
async def test_missing_or_unknown_credentials_get_401(x: Caller, headers: dict[str, str]) -> None:
    async with x.session.get(f"{x.base_url}/2/tweets/{POST_7_LIKES}", headers=headers) as response:
        body = await response.json(content_type=None)
    assert response.status == 401
    assert body["title"] == "Unauthorized"


async def test_oauth2_refresh_tokens_rotate_and_the_old_one_is_refused(x: Caller, sandbox: XSandbox) -> None:
    status, first = await x.refresh(SANDBOX_REFRESH_TOKEN)
    assert status == 200 and first["refresh_token"] != SANDBOX_REFRESH_TOKEN
    assert first["expires_in"] == 7200 and "like.read" in first["scope"]
    assert sandbox.refresh_token == first["refresh_token"]
    status, body = await x.refresh(SANDBOX_REFRESH_TOKEN)
    assert (status, body["error"]) == (400, "invalid_request")
    status, second = await x.refresh(first["refresh_token"], secret=None)  # public client: no secret
    assert status == 200
    status, _, body = await x.get(f"/2/tweets/{POST_7_LIKES}/liking_users", auth="bearer",
                                  token=second["access_token"])
    assert status == 200 and body["meta"]["result_count"] == 7
    assert sandbox.requests[-1].auth_kind == "oauth2_user"


async def test_a_wrong_client_secret_is_refused(x: Caller) -> None:
    status, body = await x.refresh(SANDBOX_REFRESH_TOKEN, secret="nope")
    assert (status, body["error"]) == (401, "unauthorized_client")


async def test_oauth2_access_tokens_expire_on_the_sandbox_clock() -> None:
    clock = SettableClock()
    async with XSandbox(clock=clock, access_token_lifetime=60) as sandbox, aiohttp.ClientSession() as session:
        x = Caller(session, sandbox.base_url)
        _, tokens = await x.refresh(SANDBOX_REFRESH_TOKEN)
        assert (await x.get("/2/users/me", auth="bearer", token=tokens["access_token"]))[0] == 200
        clock.now += 61
        assert (await x.get("/2/users/me", auth="bearer", token=tokens["access_token"]))[0] == 401
        assert exchange_problems(sandbox.exchanges) == []


# ----- rate limits -----

async def test_rate_budget_per_endpoint_and_token_with_429_when_spent_and_reset_after_the_window() -> None:
    clock = SettableClock()
    async with XSandbox(rate_limit=3, window_seconds=900, clock=clock) as sandbox, \
            aiohttp.ClientSession() as session:
        x = Caller(session, sandbox.base_url)
        path = f"/2/users/by/username/{OWNER_USERNAME}"
        seen = [await x.get(path) for _ in range(4)]
        assert [s for s, _, _ in seen] == [200, 200, 200, 429]
        assert [h["x-rate-limit-remaining"] for _, h, _ in seen] == ["2", "1", "0", "0"]
        assert {h["x-rate-limit-limit"] for _, h, _ in seen} == {"3"}
        reset = int(seen[0][1]["x-rate-limit-reset"])
        assert reset == int(clock.now + 900)
        assert seen[3][2]["title"] == "Too Many Requests"
        # Another token and another endpoint have budgets of their own.
        assert (await x.get(path, auth="bearer"))[0] == 200
        assert (await x.get(f"/2/tweets/{POST_7_LIKES}"))[0] == 200
        clock.now = reset + 1
        status, headers, _ = await x.get(path)
        assert (status, headers["x-rate-limit-remaining"]) == (200, "2")
        assert exchange_problems(sandbox.exchanges) == []


# ----- validation like X -----

@pytest.mark.off_spec_requests
@pytest.mark.parametrize(("path", "query", "parameter"), [
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"max_results": "0"}, "max_results"),
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"max_results": "101"}, "max_results"),
    (f"/2/users/{OWNER_ID}/liked_tweets", {"max_results": "4"}, "max_results"),
    (f"/2/users/{OWNER_ID}/tweets", {"max_results": "x"}, "max_results"),
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"pagination_token": "zzzz"}, "pagination_token"),
    (f"/2/tweets/{POST_7_LIKES}", {"colour": "red"}, "colour"),
    ("/2/users/me", {"user.fields": "created_at,shoe_size"}, "user.fields"),
    ("/2/users/me", {"tweet.fields": "created_at", "expansions": "pinned_post_id"}, "tweet.fields"),
    ("/2/tweets/abc", {}, "id"),
    ("/2/users/by/username/not-valid", {}, "username"),
    # A trailing newline is not part of an id or a username (`$` alone would let it through).
    (f"/2/tweets/{POST_7_LIKES}%0A", {}, "id"),
    (f"/2/users/by/username/{OWNER_USERNAME}%0A", {}, "username"),
])
async def test_invalid_requests_get_400_invalid_request_naming_the_parameter(
    x: Caller, path: str, query: dict[str, str], parameter: str,
) -> None:
    status, _, body = await x.get(path, query)
    assert status == 400
    assert body["type"] == PROBLEM + "invalid-request"
    assert list(body["errors"][0]["parameters"]) == [parameter]


async def test_a_pagination_token_of_another_post_is_refused(x: Caller) -> None:
    _, _, page = await x.get(f"/2/tweets/{POST_100_LIKES}/liking_users", {"max_results": "10"})
    status, _, body = await x.get(f"/2/tweets/{POST_MANY_LIKES}/liking_users",
                                  {"pagination_token": page["meta"]["next_token"]})
    assert status == 400 and body["type"] == PROBLEM + "invalid-request"


# ----- field naming -----

async def test_each_naming_is_answered_in_its_own_words(x: Caller) -> None:
    _, _, tweet = await x.get("/2/users/me", {
        "user.fields": "public_metrics", "expansions": "pinned_tweet_id", "tweet.fields": "public_metrics",
    })
    _, _, post = await x.get("/2/users/me", {
        "user.fields": "public_metrics", "expansions": "pinned_post_id", "post.fields": "public_metrics",
    })
    assert tweet["data"]["pinned_tweet_id"] == post["data"]["pinned_post_id"] == POST_OWNER_PINNED
    assert "tweet_count" in tweet["data"]["public_metrics"] and "post_count" in post["data"]["public_metrics"]
    assert "retweet_count" in tweet["includes"]["tweets"][0]["public_metrics"]
    assert "repost_count" in post["includes"]["posts"][0]["public_metrics"]
    assert "posts" not in tweet["includes"] and "tweets" not in post["includes"]


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


# ----- X's spec: every answer conforms, and the checker can fail -----

@pytest.mark.off_spec_requests
async def test_every_endpoint_answers_per_spec_in_both_namings(x: Caller, sandbox: XSandbox) -> None:
    namings: tuple[tuple[Naming, str, str], ...] = (
        ("tweet", "tweet.fields", "pinned_tweet_id"), ("post", "post.fields", "pinned_post_id"),
    )
    for naming, fields, pinned in namings:
        user_query = {"user.fields": USER_FIELDS, "expansions": pinned, fields: "created_at,public_metrics"}
        post_query = {fields: "created_at,public_metrics,conversation_id,lang", "expansions": "author_id",
                      "user.fields": USER_FIELDS}
        cases = [
            (f"/2/tweets/{POST_MANY_LIKES}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_NO_LIKES}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_DELETED}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_OTHER_ACCOUNT}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_MANY_LIKES}/liking_users", user_query, "bearer"),
            (f"/2/users/{OWNER_ID}/liked_tweets", post_query, "oauth1"),
            (f"/2/users/{USER_OTHER_ID}/liked_tweets", post_query, "oauth1"),
            (f"/2/users/{OWNER_ID}/tweets", post_query, "bearer"),
            (f"/2/users/{USER_PROTECTED_ID}/tweets", post_query, "bearer"),
            (f"/2/users/by/username/{OWNER_USERNAME}", user_query, "bearer"),
            (f"/2/users/by/username/{USER_SUSPENDED_USERNAME}", user_query, "bearer"),
            ("/2/users/by/username/nobody_here", user_query, "bearer"),
            (f"/2/tweets/{POST_7_LIKES}", post_query, "bearer"),
            (f"/2/tweets/{POST_DELETED}", post_query, "oauth1"),
            ("/2/tweets", {"ids": f"{POST_7_LIKES},{POST_DELETED}", **post_query}, "bearer"),
            ("/2/tweets", {"ids": POST_DELETED, **post_query}, "oauth1"),
            ("/2/users/me", user_query, "oauth1"),
            ("/2/users/me", {**user_query, "max_results": "0"}, "oauth1"),
            ("/2/users/me", user_query, "none"),
        ]
        for path, query, auth in cases:
            status, _, body = await x.get(path, query, auth=auth)
            assert sandbox.exchanges[-1].naming == naming
            assert check_response(naming, "GET", path.split("?")[0], status, body) == [], (path, status)
        # Pages after the first carry both tokens.
        liked = f"/2/users/{OWNER_ID}/liked_tweets"
        _, _, page = await x.get(liked, {"max_results": "5", fields: "created_at"})
        status, _, body = await x.get(f"/2/users/{OWNER_ID}/liked_tweets", {
            "max_results": "5", fields: "created_at", "pagination_token": page["meta"]["next_token"],
        })
        assert {"next_token", "previous_token"} <= set(body["meta"])
        assert check_response(naming, "GET", f"/2/users/{OWNER_ID}/liked_tweets", status, body) == []
    sandbox.faults.usage_capped = True
    await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert exchange_problems(sandbox.exchanges) == []
    statuses = {exchange.request.status for exchange in sandbox.exchanges}
    assert {200, 400, 401, 403, 429} <= statuses


@pytest.mark.off_spec_requests
async def test_random_queries_get_200_or_400_and_every_answer_is_in_the_spec(
    x: Caller, sandbox: XSandbox,
) -> None:
    rng = random.Random(1234)
    paths = [
        f"/2/tweets/{POST_MANY_LIKES}/liking_users", f"/2/users/{OWNER_ID}/liked_tweets",
        f"/2/users/{OWNER_ID}/tweets", f"/2/users/by/username/{OWNER_USERNAME}", f"/2/tweets/{POST_7_LIKES}",
        "/2/users/me",
    ]
    names = ["max_results", "pagination_token", "user.fields", "tweet.fields", "post.fields", "expansions",
             "since_id", "start_time", "exclude", "bogus"]
    values = [
        "0", "1", "5", "100", "101", "-1", "", "abc", "created_at", "created_at,public_metrics",
        "pinned_tweet_id", "pinned_post_id", "author_id", "2026-01-01T00:00:00Z", "replies", "%00", "🙂",
    ]
    statuses = []
    for _ in range(150):
        query = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(0, 3))}
        status, _, body = await x.get(rng.choice(paths), query)
        statuses.append(status)
        assert status in (200, 400), (query, status, body)
    assert {200, 400} <= set(statuses)
    assert exchange_problems(sandbox.exchanges) == []


def test_the_request_checker_catches_what_x_would_refuse() -> None:
    path = f"/2/tweets/{POST_7_LIKES}/liking_users"
    good = {"max_results": "100", "user.fields": "created_at"}
    assert check_request("tweet", "GET", path, good, "oauth1") == []
    assert check_request("tweet", "GET", path, {"max_results": "0"}, "oauth1")
    liked = f"/2/users/{OWNER_ID}/liked_tweets"
    assert check_request("post", "GET", liked, {"max_results": "4"}, "oauth2_user")
    assert check_request("tweet", "GET", path, {"user.fields": "created_at,shoe_size"}, "oauth1")
    assert check_request("tweet", "GET", path, {"colour": "red"}, "oauth1")
    assert check_request("tweet", "GET", path, {}, "bearer")
    assert check_request("tweet", "GET", path, {}, "none")
    assert check_request("tweet", "GET", "/2/tweets/12345678901234567890", {}, "bearer")
    assert check_request("tweet", "GET", "/2/users/by/username/not-valid", {}, "bearer")
    # v2.167 renamed the fields: the tweet names are unknown there.
    assert check_request("post", "GET", "/2/users/me", {"tweet.fields": "created_at"}, "oauth1")
    assert check_request("post", "GET", "/2/users/me", {"expansions": "pinned_tweet_id"}, "oauth1")
    assert check_request("post", "GET", "/2/users/me", {"expansions": "pinned_post_id"}, "oauth1") == []


def test_the_response_checker_catches_answers_x_would_not_send() -> None:
    path = f"/2/tweets/{POST_7_LIKES}/liking_users"
    good = {"data": [{"id": "1", "name": "A", "username": "a"}], "meta": {"result_count": 1}}
    assert check_response("tweet", "GET", path, 200, good) == []
    assert check_response("tweet", "GET", path, 200, {"data": [{"id": 1, "name": "A", "username": "a"}]})
    assert check_response("tweet", "GET", path, 200, {"data": [{"name": "A", "username": "a"}]})
    assert check_response("tweet", "GET", path, 200, {**good, "meta": {"result_count": 1, "next": "x"}})
    assert check_response("tweet", "GET", path, 200, {
        **good, "data": [{"id": "1", "name": "A", "username": "a", "created_at": "yesterday"}],
    })
    # The other naming's words: includes.tweets is not v2.167, pinned_post_id is not v2.166.
    wrong_includes = {**good, "includes": {"tweets": [{"id": "2", "text": "t"}]}}
    assert check_response("post", "GET", path, 200, wrong_includes)
    assert check_response("tweet", "GET", path, 200, {
        **good, "data": [{"id": "1", "name": "A", "username": "a", "pinned_post_id": "2"}],
    })
    # Problems: shape and type are checked.
    assert check_response("tweet", "GET", path, 403, {"title": "Forbidden", "type": PROBLEM + "no-such-type"})
    assert check_response("post", "GET", path, 200, {"errors": [{"type": PROBLEM + "resource-not-found",
                                                                 "title": "Not Found Error"}]})
    assert check_response("tweet", "GET", path, 500, "<html></html>")
    assert check_response("tweet", "GET", path, 401, {"errors": [{"code": "32"}]})


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
