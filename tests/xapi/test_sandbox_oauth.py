"""The sandbox's OAuth 2.0 Authorization Code flow with PKCE, as a browser and an app would drive it.

The consent page is fetched and its form submitted as a browser would (a POST of the form's
fields, the 302 read, not followed); the app's side is the real aiohttp client on the token,
revoke and API endpoints. Every API request also passes the x_sandbox fixture's spec checks.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from tests.spec.xspec import exchange_problems
from tests.xapi.support import SettableClock
from xapi.sandbox import OWNER_ID, POST_7_LIKES, XSandbox
from xapi.sandbox.community import COMMUNITY_HARBOR, COMMUNITY_MAPLE, COMMUNITY_ORBIT

CALLBACK = "http://127.0.0.1:8080/x/callback"
PUBLIC_ID = "likelens-public"
CONFIDENTIAL_ID = "likelens-confidential"
CONFIDENTIAL_SECRET = "likelens-confidential-secret"
CONNECT_SCOPES = "tweet.read users.read like.read offline.access"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), computed here independently of the sandbox."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _FormReader(HTMLParser):
    """The consent form's action, method, fields and account choices, as a browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.hidden: dict[str, str] = {}
        self.accounts: list[str] = []
        self.checked_account = ""
        self.decisions: dict[str, str] = {}
        self.title = ""
        self._in_title = False
        self._button: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action, self.method = attr.get("action", ""), attr.get("method", "").lower()
        elif tag == "input" and attr.get("type") == "hidden":
            self.hidden[attr["name"]] = attr.get("value", "")
        elif tag == "input" and attr.get("type") == "radio" and attr.get("name") == "account":
            self.accounts.append(attr["value"])
            if "checked" in attr:
                self.checked_account = attr["value"]
        elif tag == "button" and attr.get("type") == "submit":
            self._button = attr.get("value", "")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._button is not None and data.strip():
            self.decisions[data.strip()] = self._button
            self._button = None


@dataclass
class Consent:
    """One authorization attempt: the page the browser got and the verifier the app keeps."""

    status: int
    html: str
    verifier: str
    state: str
    form: _FormReader = field(default_factory=_FormReader)


class App:
    """A LikeLens-like app and its user's browser, both on one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: XSandbox, client_id: str = PUBLIC_ID,
                 secret: str | None = None) -> None:
        self.session, self.sandbox = session, sandbox
        self.client_id, self.secret = client_id, secret

    async def open_consent(self, scope: str = CONNECT_SCOPES, **overrides: str) -> Consent:
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": CALLBACK, "scope": scope,
            "state": secrets.token_urlsafe(24), "code_challenge": challenge, "code_challenge_method": "S256",
        } | overrides
        url = self.sandbox.base_url + "/i/oauth2/authorize"
        async with self.session.get(url, params=params, allow_redirects=False) as response:
            consent = Consent(response.status, await response.text(), verifier, params["state"])
            assert "Location" not in response.headers
        consent.form.feed(consent.html)
        return consent

    async def submit(self, consent: Consent, decision: str, account: str | None = None) -> URL:
        """Press a button of the consent form; returns where X sends the browser (the 302's Location)."""
        form = consent.form
        assert form.method == "post"
        fields = dict(form.hidden) | {"decision": form.decisions[decision]}
        fields["account"] = account if account is not None else form.checked_account
        async with self.session.post(self.sandbox.base_url + form.action, data=fields,
                                     allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            return URL(response.headers["Location"])

    async def sign_in(self, account: str, scope: str = CONNECT_SCOPES) -> tuple[str, str]:
        """Approve as `account`; returns (code, verifier)."""
        consent = await self.open_consent(scope)
        back = await self.submit(consent, "Approve", account)
        assert back.query["state"] == consent.state
        return back.query["code"], consent.verifier

    async def token(self, form: dict[str, str], *, basic: tuple[str, str] | None = None) -> tuple[int, Any]:
        headers = {}
        if basic is None and self.secret is not None:
            basic = (self.client_id, self.secret)
        if basic is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
        else:
            form = {"client_id": self.client_id} | form
        async with self.session.post(self.sandbox.base_url + "/2/oauth2/token", data=form,
                                     headers=headers) as response:
            return response.status, await response.json()

    async def exchange(self, code: str, verifier: str, redirect_uri: str = CALLBACK) -> tuple[int, Any]:
        return await self.token({"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": redirect_uri, "code_verifier": verifier})

    async def connect(self, account: str, scope: str = CONNECT_SCOPES) -> dict[str, Any]:
        code, verifier = await self.sign_in(account, scope)
        status, body = await self.exchange(code, verifier)
        assert status == 200, body
        return dict(body)

    async def revoke(self, token: str, hint: str) -> tuple[int, Any]:
        return await self.token_like("/2/oauth2/revoke", {"token": token, "token_type_hint": hint})

    async def token_like(self, path: str, form: dict[str, str]) -> tuple[int, Any]:
        form = {"client_id": self.client_id} | form
        async with self.session.post(self.sandbox.base_url + path, data=form) as response:
            return response.status, await response.json()

    async def api(self, path: str, access_token: str, **query: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        async with self.session.get(self.sandbox.base_url + path, params=query, headers=headers) as response:
            return response.status, await response.json()


@pytest_asyncio.fixture
async def app(sandbox: XSandbox, session: aiohttp.ClientSession) -> AsyncIterator[App]:
    sandbox.register_client(PUBLIC_ID, [CALLBACK])
    yield App(session, sandbox)


@pytest.fixture
def confidential(sandbox: XSandbox, session: aiohttp.ClientSession) -> App:
    sandbox.register_client(CONFIDENTIAL_ID, [CALLBACK], secret=CONFIDENTIAL_SECRET)
    return App(session, sandbox, CONFIDENTIAL_ID, CONFIDENTIAL_SECRET)


async def likers_of(app: App, post_id: str, access_token: str) -> set[str]:
    status, body = await app.api(f"/2/tweets/{post_id}/liking_users", access_token)
    assert status == 200, body
    return {user["id"] for user in body.get("data", [])}


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
