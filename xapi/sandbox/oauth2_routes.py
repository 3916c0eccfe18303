"""The sandbox's OAuth 2.0 routes: the consent page, the token endpoint and revocation.

The consent page stands in for x.com's (`X_AUTHORIZE_URL` points at it); the token and revoke
endpoints are api.x.com's. None of them is in X's OpenAPI spec, so their traffic is logged in
`XSandbox.requests` but not kept among the spec-checked exchanges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from yarl import URL

from xapi.sandbox.auth import parse_basic_auth
from xapi.sandbox.authorize import AuthorizeError, checked_request
from xapi.sandbox.community import COMMUNITIES
from xapi.sandbox.consent_page import AUTHORIZE_PATH, consent_page, error_page
from xapi.sandbox.data import OWNER_ID, SeedUser
from xapi.sandbox.oauth2_tokens import Grant
from xapi.sandbox.request_log import SandboxRequest
from xapi.sandbox.token_endpoint import revoke_answer, token_answer

if TYPE_CHECKING:
    from xapi.sandbox.server import XSandbox

# Who can sign in on the consent page: the owner, then the community accounts.
SIGN_IN_ACCOUNTS = (OWNER_ID, *(c.id for c in COMMUNITIES))


class OAuth2Routes:
    """The OAuth 2.0 handlers of one sandbox."""

    def __init__(self, sandbox: XSandbox) -> None:
        self.sandbox = sandbox

    def add_to(self, app: web.Application) -> None:
        app.router.add_get(AUTHORIZE_PATH, self.authorize_page)
        app.router.add_post(AUTHORIZE_PATH, self.authorize_decision)
        app.router.add_post("/2/oauth2/token", self.token)
        app.router.add_post("/2/oauth2/revoke", self.revoke)

    def _accounts(self) -> list[SeedUser]:
        return [self.sandbox.world.users[i] for i in SIGN_IN_ACCOUNTS]

    def _log(self, request: web.Request, status: int, *, with_query: bool = True) -> None:
        query = dict(request.query) if with_query else {}
        self.sandbox.log.arrived(SandboxRequest(request.method, request.path, query, "none", status))

    async def authorize_page(self, request: web.Request) -> web.Response:
        """GET: the consent page, or an error page for a request X would refuse."""
        params = dict(request.query)
        try:
            checked = checked_request(self.sandbox.clients, params)
        except AuthorizeError as error:
            self._log(request, 400)
            return _html(error_page(str(error)), 400)
        self._log(request, 200)
        return _html(consent_page(checked, params, self._accounts()), 200)

    async def authorize_decision(self, request: web.Request) -> web.Response:
        """POST (the consent form): 302 back to the app with a code, or with error=access_denied."""
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            checked = checked_request(self.sandbox.clients, form)
        except AuthorizeError as error:
            self._log(request, 400, with_query=False)
            return _html(error_page(str(error)), 400)
        target = URL(checked.redirect_uri)
        if form.get("decision") != "approve":
            self._log(request, 302, with_query=False)
            return _redirect(target.update_query(error="access_denied", state=checked.state))
        account = form.get("account", "")
        if account not in SIGN_IN_ACCOUNTS:
            self._log(request, 400, with_query=False)
            return _html(error_page("Choose the account to sign in as."), 400)
        grant = Grant(account, checked.scopes, checked.client.client_id)
        code = self.sandbox.oauth2.new_code(grant, checked.redirect_uri, checked.code_challenge)
        self._log(request, 302, with_query=False)
        return _redirect(target.update_query(state=checked.state, code=code))

    async def token(self, request: web.Request) -> web.Response:
        """POST /2/oauth2/token: the authorization_code and refresh_token grants."""
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        basic = parse_basic_auth(request.headers.get("Authorization", ""))
        if self.sandbox.token_endpoint_down:
            status, body = 503, {"title": "Service Unavailable", "detail": "Service Unavailable",
                                 "type": "about:blank", "status": 503}
        else:
            status, body = token_answer(self.sandbox.oauth2, self.sandbox.clients, form, basic)
        return self._json_answer(request, "oauth2_token", form, basic, status=status, body=body)

    async def revoke(self, request: web.Request) -> web.Response:
        """POST /2/oauth2/revoke: the token stops working at once."""
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        basic = parse_basic_auth(request.headers.get("Authorization", ""))
        status, body = revoke_answer(self.sandbox.oauth2, self.sandbox.clients, form, basic)
        return self._json_answer(request, "oauth2_revoke", form, basic, status=status, body=body)

    def _json_answer(
        self, request: web.Request, budget: str, form: dict[str, str], basic: tuple[str, str] | None, *,
        status: int, body: dict[str, object],
    ) -> web.Response:
        record = SandboxRequest(request.method, request.path, dict(request.query),
                                "none" if basic is None else "oauth2_user", status)
        self.sandbox.log.arrived(record)
        client_id = form.get("client_id", basic[0] if basic else "")
        headers = self.sandbox.spend_budget(budget, "client:" + client_id)
        headers["x-rate-limit-remaining"] = str(max(0, int(headers["x-rate-limit-remaining"])))
        headers["Cache-Control"] = "no-store"
        return web.json_response(body, status=status, headers=headers)


def _html(text: str, status: int) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


def _redirect(location: URL) -> web.Response:
    return web.Response(status=302, headers={"Location": str(location), "Cache-Control": "no-store"})
