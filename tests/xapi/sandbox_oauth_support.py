"""Helpers of the sandbox's OAuth 2.0 code-flow tests: an App driving the flow as a browser and an app would.

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

from xapi.sandbox import XSandbox

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
