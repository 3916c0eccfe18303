"""A stand-in for X's OAuth 2.0 endpoints (token, revoke, users/me) as x-api-facts.md describes them.

Only for tests of accounts.oauth_flow until xapi/sandbox/ serves OAuth 2.0 (issue 9): it checks
PKCE S256, the redirect URI and the client's authentication like X does, and its faults are
switches. Codes are handed out with `issue_code(challenge)`, as X's consent page would.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlencode

from aiohttp import web


@dataclass
class IssuedCode:
    challenge: str
    redirect_uri: str
    used: bool = False


@dataclass
class FakeXOAuth:
    client_id: str = "likelens-client"
    client_secret: str | None = None
    redirect_uri: str = "http://127.0.0.1:8080/x/callback"
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    live_tokens: set[str] = field(default_factory=set)
    revoked: list[tuple[str, str]] = field(default_factory=list)
    token_requests: list[tuple[dict[str, str], str | None]] = field(default_factory=list)
    token_status_fault: int | None = None
    token_body_fault: str | None = None
    suspended: bool = False
    approve: bool = True
    expire_codes_at_once: bool = False
    base_url: str = ""
    _runner: web.AppRunner | None = None

    def issue_code(self, challenge: str) -> str:
        code = "code-" + secrets.token_urlsafe(24)
        self.codes[code] = IssuedCode(challenge, self.redirect_uri)
        return code

    def expire_code(self, code: str) -> None:
        del self.codes[code]

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/i/oauth2/authorize", self._authorize)
        app.router.add_post("/2/oauth2/token", self._token)
        app.router.add_post("/2/oauth2/revoke", self._revoke)
        app.router.add_get("/2/users/me", self._me)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/i/oauth2/authorize"

    async def _authorize(self, request: web.Request) -> web.Response:
        """The consent page reduced to its answer: Approve (a code) or Cancel, at once."""
        query = request.query
        if (query.get("client_id") != self.client_id or query.get("redirect_uri") != self.redirect_uri
                or query.get("code_challenge_method") != "S256" or query.get("response_type") != "code"):
            return web.Response(status=400, text="Something went wrong.")
        answer = {"state": query.get("state", "")}
        if self.approve:
            code = self.issue_code(query.get("code_challenge", ""))
            if self.expire_codes_at_once:
                self.expire_code(code)
            answer["code"] = code
        else:
            answer["error"] = "access_denied"
        raise web.HTTPFound(f"{self.redirect_uri}?{urlencode(answer)}")

    def _client_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization")
        if self.client_secret is None:
            return header is None and form.get("client_id") == self.client_id
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return header == f"Basic {expected}"

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append((form, request.headers.get("Authorization")))
        if self.token_status_fault is not None:
            return web.Response(status=self.token_status_fault, text=self.token_body_fault or "")
        if self.token_body_fault is not None:
            return web.Response(status=200, text=self.token_body_fault)
        if not self._client_ok(request, form):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        issued = self.codes.get(form.get("code", ""))
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if issued is None or issued.used or issued.challenge != challenge:
            return web.json_response({"error": "invalid_grant", "error_description": "Value passed for the "
                                      f"authorization code was invalid: {form.get('code')}"}, status=400)
        if form.get("redirect_uri") != issued.redirect_uri:
            return web.json_response({"error": "invalid_request"}, status=400)
        issued.used = True
        access, refresh = "access-" + secrets.token_urlsafe(24), "refresh-" + secrets.token_urlsafe(24)
        self.live_tokens |= {access, refresh}
        return web.json_response({
            "token_type": "bearer", "expires_in": 7200, "access_token": access,
            "scope": "tweet.read users.read like.read offline.access", "refresh_token": refresh,
        })

    async def _revoke(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._client_ok(request, form):
            return web.json_response({"error": "invalid_client"}, status=401)
        self.revoked.append((form.get("token", ""), form.get("token_type_hint", "")))
        self.live_tokens.discard(form.get("token", ""))
        return web.json_response({"revoked": True})

    async def _me(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.live_tokens:
            return web.json_response({"title": "Unauthorized", "type": "about:blank", "status": 401,
                                      "detail": "Unauthorized"}, status=401)
        if self.suspended:
            return web.json_response({"title": "Forbidden", "type": "about:blank", "status": 403,
                                      "detail": f"User has been suspended. ({token})"}, status=403)
        return web.json_response({"data": {"id": "1500000000000000001", "username": "likelens_community",
                                           "name": "LikeLens <Community>"}})
