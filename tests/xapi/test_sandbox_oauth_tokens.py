"""Tokens of the sandbox's OAuth 2.0 code flow once issued: revocation, scopes and accounts on the API."""

from __future__ import annotations

from tests.xapi import sandbox_oauth_support
from tests.xapi.sandbox_oauth_support import CONFIDENTIAL_ID, App, likers_of
from xapi.sandbox import OWNER_ID, POST_7_LIKES
from xapi.sandbox.community import COMMUNITY_HARBOR, COMMUNITY_MAPLE, COMMUNITY_ORBIT

# The code-flow tests' shared fixtures: a public and a confidential app registered on this test's sandbox.
app = sandbox_oauth_support.app
confidential = sandbox_oauth_support.confidential


# ----- revocation -----

async def test_a_revoked_access_token_stops_working_at_once(app: App) -> None:
    tokens = await app.connect(COMMUNITY_MAPLE.id)
    assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 200
    status, body = await app.revoke(tokens["access_token"], "access_token")
    assert (status, body) == (200, {"revoked": True})
    assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 401


async def test_a_revoked_refresh_token_cannot_refresh(app: App) -> None:
    tokens = await app.connect(COMMUNITY_MAPLE.id)
    assert (await app.revoke(tokens["refresh_token"], "refresh_token"))[0] == 200
    status, body = await app.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_request")


async def test_revocation_needs_the_client_that_got_the_token(app: App, confidential: App) -> None:
    tokens = await app.connect(COMMUNITY_MAPLE.id)
    stranger = App(app.session, app.sandbox, "nobody")
    assert (await stranger.revoke(tokens["access_token"], "access_token"))[0] == 401
    public_style = App(app.session, app.sandbox, CONFIDENTIAL_ID)
    assert (await public_style.revoke(tokens["access_token"], "access_token"))[0] == 401
    assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 200


# ----- user tokens on the API -----

async def test_a_token_without_like_read_gets_403_on_the_likes_endpoints(app: App) -> None:
    tokens = await app.connect(COMMUNITY_MAPLE.id, scope="tweet.read users.read offline.access")
    newest = COMMUNITY_MAPLE.post_ids[0]
    status, body = await app.api(f"/2/tweets/{newest}/liking_users", tokens["access_token"])
    assert status == 403 and body["title"] == "Forbidden" and body["type"] == "about:blank"
    status, body = await app.api(f"/2/users/{COMMUNITY_MAPLE.id}/liked_tweets", tokens["access_token"])
    assert status == 403
    assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 200
    assert (await app.api(f"/2/tweets/{newest}", tokens["access_token"]))[0] == 200


async def test_tokens_of_two_accounts_never_see_each_others_likers(app: App) -> None:
    maple = (await app.connect(COMMUNITY_MAPLE.id))["access_token"]
    harbor = (await app.connect(COMMUNITY_HARBOR.id))["access_token"]
    maple_likers: set[str] = set()
    harbor_likers: set[str] = set()
    for post_id in COMMUNITY_MAPLE.post_ids:
        maple_likers |= await likers_of(app, post_id, maple)
        status, body = await app.api(f"/2/tweets/{post_id}/liking_users", harbor)
        assert status == 403 and "data" not in body
    for post_id in COMMUNITY_HARBOR.post_ids:
        harbor_likers |= await likers_of(app, post_id, harbor)
        assert (await app.api(f"/2/tweets/{post_id}/liking_users", maple))[0] == 403
    assert maple_likers == set(COMMUNITY_MAPLE.fan_ids) and harbor_likers == set(COMMUNITY_HARBOR.fan_ids[:6])
    assert not maple_likers & harbor_likers
    # Nor the owner's likers, nor each other's likes.
    assert (await app.api(f"/2/tweets/{POST_7_LIKES}/liking_users", maple))[0] == 403
    assert (await app.api(f"/2/users/{COMMUNITY_HARBOR.id}/liked_tweets", maple))[0] == 403
    assert (await app.api(f"/2/users/{OWNER_ID}/liked_tweets", harbor))[0] == 403


async def test_the_owner_signed_in_by_the_code_flow_sees_the_owners_likers(app: App) -> None:
    owner = (await app.connect(OWNER_ID))["access_token"]
    assert len(await likers_of(app, POST_7_LIKES, owner)) == 7


async def test_a_suspended_account_gets_tokens_but_users_me_says_suspended(app: App) -> None:
    app.sandbox.suspend_account(COMMUNITY_ORBIT.id)
    tokens = await app.connect(COMMUNITY_ORBIT.id)
    status, body = await app.api("/2/users/me", tokens["access_token"])
    assert status == 200 and "data" not in body
    assert body["errors"][0]["detail"] == f"User has been suspended: [{COMMUNITY_ORBIT.id}]."
