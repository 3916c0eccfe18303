"""The X sandbox's auth rules: who may call what, OAuth 1.0a signatures, OAuth 2.0 refresh, rate budgets."""

from __future__ import annotations

from datetime import datetime

import aiohttp
import pytest
from oauthlib.oauth1 import Client as OAuth1Signer
from yarl import URL

from tests.spec.xspec import exchange_problems
from tests.xapi import sandbox_support
from tests.xapi.sandbox_support import PROBLEM, USER_FIELDS, Caller
from tests.xapi.support import SettableClock
from xapi.sandbox import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_OTHER_ACCOUNT,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_REFRESH_TOKEN,
    USER_OTHER_ID,
    XSandbox,
)

# The sandbox tests' shared fixture: a Caller signing requests for this test's sandbox.
x = sandbox_support.x


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
