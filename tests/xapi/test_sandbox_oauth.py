"""The sandbox's OAuth 2.0 code flow with PKCE: its consent page and its token endpoint."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from tests.spec.xspec import exchange_problems
from tests.xapi import sandbox_oauth_support
from tests.xapi.sandbox_oauth_support import (
    CALLBACK,
    CONFIDENTIAL_ID,
    CONNECT_SCOPES,
    PUBLIC_ID,
    App,
    likers_of,
    pkce_pair,
)
from tests.xapi.support import SettableClock
from xapi.sandbox import OWNER_ID, XSandbox
from xapi.sandbox.community import COMMUNITY_HARBOR, COMMUNITY_MAPLE, COMMUNITY_ORBIT

# The code-flow tests' shared fixtures: a public and a confidential app registered on this test's sandbox.
app = sandbox_oauth_support.app
confidential = sandbox_oauth_support.confidential


# ----- the consent page -----

async def test_the_consent_page_names_the_app_and_scopes_and_offers_each_seeded_account(app: App) -> None:
    consent = await app.open_consent()
    assert consent.status == 200
    form = consent.form
    assert form.title == "Authorize LikeLens · X sandbox"
    assert "LikeLens asks for these permissions on the account you sign in as: tweet.read, users.read, " \
           "like.read, offline.access." in consent.html
    assert form.accounts == [OWNER_ID, COMMUNITY_MAPLE.id, COMMUNITY_HARBOR.id, COMMUNITY_ORBIT.id]
    assert form.checked_account == OWNER_ID
    assert set(form.decisions) == {"Approve", "Cancel"}
    assert "<script" not in consent.html
    for account in form.accounts:  # every radio has a label a screen reader announces
        assert f'<label for="account-{account}">' in consent.html
    assert "<legend>Sign in as</legend>" in consent.html and '<html lang="en">' in consent.html


async def test_the_consent_page_escapes_the_app_name_and_the_state(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.register_client("odd-app", [CALLBACK], name='<img src=x onerror="alert(1)">')
    app = App(session, sandbox, "odd-app")
    consent = await app.open_consent(state='"><script>alert(2)</script>')
    assert consent.status == 200
    assert "<img" not in consent.html and "<script>" not in consent.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in consent.html
    assert consent.form.hidden["state"] == '"><script>alert(2)</script>'  # the browser gets it back intact
    back = await app.submit(consent, "Cancel")
    assert back.query["state"] == '"><script>alert(2)</script>'


@pytest.mark.parametrize(("overrides", "sentence"), [
    ({"client_id": "nobody"}, "No app is registered with this client_id."),
    ({"redirect_uri": CALLBACK + "/"}, "not one of the callback URLs registered"),
    ({"redirect_uri": "https://evil.example/x/callback"}, "not one of the callback URLs registered"),
    ({"code_challenge_method": "plain"}, "code_challenge_method must be S256"),
    ({"code_challenge_method": ""}, "code_challenge_method must be S256"),
    ({"code_challenge": ""}, "code_challenge is missing"),
    ({"scope": "tweet.read likes.everything"}, "names a scope X does not have"),
    ({"scope": ""}, "scope is missing"),
    ({"state": "s" * 501}, "longer than 500 characters"),
    ({"state": ""}, "state is missing"),
    ({"response_type": "token"}, "response_type must be code"),
])
async def test_a_request_x_would_refuse_gets_an_error_page_and_no_redirect(
    app: App, overrides: dict[str, str], sentence: str,
) -> None:
    consent = await app.open_consent(**overrides)
    assert consent.status == 400 and sentence in consent.html
    assert consent.form.title == "Authorization request refused · X sandbox"
    assert "evil.example" not in consent.html and not consent.form.decisions


async def test_a_state_of_500_characters_is_accepted(app: App) -> None:
    consent = await app.open_consent(state="s" * 500)
    assert consent.status == 200
    assert (await app.submit(consent, "Approve")).query["state"] == "s" * 500


async def test_a_tampered_form_post_is_checked_again(app: App, session: aiohttp.ClientSession) -> None:
    consent = await app.open_consent()
    fields = dict(consent.form.hidden) | {"decision": "approve", "account": OWNER_ID,
                                         "redirect_uri": "https://evil.example/cb"}
    async with session.post(app.sandbox.base_url + consent.form.action, data=fields,
                            allow_redirects=False) as response:
        assert response.status == 400 and "Location" not in response.headers
    fields = dict(consent.form.hidden) | {"decision": "approve", "account": "1700000000000000001"}
    async with session.post(app.sandbox.base_url + consent.form.action, data=fields,
                            allow_redirects=False) as response:
        assert response.status == 400 and "Choose the account to sign in as." in await response.text()


async def test_cancel_sends_the_browser_back_with_access_denied_and_no_code(app: App) -> None:
    consent = await app.open_consent()
    back = await app.submit(consent, "Cancel")
    assert back.with_query(None) == URL(CALLBACK)
    assert dict(back.query) == {"error": "access_denied", "state": consent.state}


# ----- the token endpoint -----

async def test_public_client_full_code_flow_acts_as_the_account_signed_in(app: App) -> None:
    consent = await app.open_consent()
    back = await app.submit(consent, "Approve", COMMUNITY_MAPLE.id)
    assert back.with_query(None) == URL(CALLBACK) and back.query["state"] == consent.state
    status, tokens = await app.exchange(back.query["code"], consent.verifier)
    assert status == 200
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 7200
    assert tokens["scope"] == CONNECT_SCOPES and tokens["access_token"] and tokens["refresh_token"]
    status, me = await app.api("/2/users/me", tokens["access_token"])
    assert status == 200 and me["data"]["username"] == COMMUNITY_MAPLE.username
    newest = COMMUNITY_MAPLE.post_ids[0]
    assert await likers_of(app, newest, tokens["access_token"]) == set(COMMUNITY_MAPLE.fan_ids)
    status, liked = await app.api(f"/2/users/{COMMUNITY_MAPLE.id}/liked_tweets", tokens["access_token"])
    assert status == 200 and liked["meta"]["result_count"] == 2
    assert app.sandbox.requests_to("/2/users/me")[-1].auth_kind == "oauth2_user"


async def test_confidential_client_exchanges_with_http_basic_only(confidential: App) -> None:
    code, verifier = await confidential.sign_in(COMMUNITY_HARBOR.id)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "code_verifier": verifier}
    status, body = await confidential.token(form, basic=(CONFIDENTIAL_ID, "wrong-secret"))
    assert (status, body["error"]) == (401, "unauthorized_client")
    public_style = App(confidential.session, confidential.sandbox, CONFIDENTIAL_ID)
    status, body = await public_style.token(form)  # client_id in the body, no secret
    assert (status, body["error"]) == (401, "unauthorized_client")
    status, tokens = await confidential.exchange(code, verifier)
    assert status == 200
    status, me = await confidential.api("/2/users/me", tokens["access_token"])
    assert me["data"]["id"] == COMMUNITY_HARBOR.id


async def test_a_code_verifier_that_does_not_match_the_challenge_is_invalid_grant(app: App) -> None:
    code, _ = await app.sign_in(COMMUNITY_MAPLE.id)
    other_verifier, _ = pkce_pair()
    status, body = await app.exchange(code, other_verifier)
    assert (status, body["error"]) == (400, "invalid_grant") and "access_token" not in body


async def test_a_code_works_once(app: App) -> None:
    code, verifier = await app.sign_in(COMMUNITY_MAPLE.id)
    assert (await app.exchange(code, verifier))[0] == 200
    status, body = await app.exchange(code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_code_of_another_client_or_redirect_uri_is_invalid_grant(
    app: App, confidential: App,
) -> None:
    app.sandbox.register_client(PUBLIC_ID, [CALLBACK, "http://127.0.0.1:9090/x/callback"])
    code, verifier = await app.sign_in(COMMUNITY_MAPLE.id)
    status, body = await app.exchange(code, verifier, redirect_uri="http://127.0.0.1:9090/x/callback")
    assert (status, body["error"]) == (400, "invalid_grant")
    code, verifier = await app.sign_in(COMMUNITY_MAPLE.id)
    status, body = await confidential.exchange(code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_missing_parameters_are_invalid_request(app: App) -> None:
    code, _ = await app.sign_in(COMMUNITY_MAPLE.id)
    no_verifier = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    status, body = await app.token(no_verifier)
    assert (status, body["error"]) == (400, "invalid_request")
    assert "code_verifier" in body["error_description"]
    status, body = await app.token({"grant_type": "password"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_codes_live_30_seconds_on_the_sandbox_clock() -> None:
    clock = SettableClock()
    async with XSandbox(clock=clock) as sandbox, aiohttp.ClientSession() as session:
        sandbox.register_client(PUBLIC_ID, [CALLBACK])
        app = App(session, sandbox)
        code, verifier = await app.sign_in(COMMUNITY_ORBIT.id)
        clock.advance(29)
        assert (await app.exchange(code, verifier))[0] == 200
        code, verifier = await app.sign_in(COMMUNITY_ORBIT.id)
        clock.advance(31)
        status, body = await app.exchange(code, verifier)
        assert (status, body["error"]) == (400, "invalid_grant")
        assert exchange_problems(sandbox.exchanges) == []


async def test_codes_can_be_made_to_expire_faster() -> None:
    clock = SettableClock()
    async with XSandbox(clock=clock, code_lifetime=1) as sandbox, aiohttp.ClientSession() as session:
        sandbox.register_client(PUBLIC_ID, [CALLBACK])
        app = App(session, sandbox)
        code, verifier = await app.sign_in(COMMUNITY_ORBIT.id)
        clock.advance(2)
        assert (await app.exchange(code, verifier))[1]["error"] == "invalid_grant"


async def test_access_tokens_of_the_code_flow_expire_after_7200_seconds() -> None:
    clock = SettableClock()
    async with XSandbox(clock=clock) as sandbox, aiohttp.ClientSession() as session:
        sandbox.register_client(PUBLIC_ID, [CALLBACK])
        app = App(session, sandbox)
        tokens = await app.connect(COMMUNITY_ORBIT.id)
        clock.advance(7199)
        assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 200
        clock.advance(2)
        assert (await app.api("/2/users/me", tokens["access_token"]))[0] == 401
        assert exchange_problems(sandbox.exchanges) == []


async def test_refresh_rotates_and_the_old_refresh_token_is_refused(app: App) -> None:
    first = await app.connect(COMMUNITY_HARBOR.id)
    status, second = await app.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"] and second["scope"] == CONNECT_SCOPES
    status, body = await app.token({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    # X's answer to a refresh token that is no longer live (the sandbox's long-standing wording).
    assert (status, body["error"]) == (400, "invalid_request")
    status, me = await app.api("/2/users/me", second["access_token"])
    assert status == 200 and me["data"]["id"] == COMMUNITY_HARBOR.id


async def test_no_refresh_token_without_offline_access(app: App) -> None:
    tokens = await app.connect(COMMUNITY_HARBOR.id, scope="tweet.read users.read")
    assert "refresh_token" not in tokens and tokens["scope"] == "tweet.read users.read"


async def test_a_refresh_token_of_another_client_is_refused(app: App, confidential: App) -> None:
    tokens = await app.connect(COMMUNITY_HARBOR.id)
    status, body = await confidential.token({"grant_type": "refresh_token",
                                             "refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_request")
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert (await app.token(refresh))[0] == 200


async def test_a_failing_token_endpoint_answers_503(app: App) -> None:
    code, verifier = await app.sign_in(COMMUNITY_MAPLE.id)
    app.sandbox.token_endpoint_down = True
    assert (await app.exchange(code, verifier))[0] == 503
    app.sandbox.token_endpoint_down = False
    assert (await app.exchange(code, verifier))[0] == 200  # the outage did not use the code up
