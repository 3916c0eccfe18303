"""The answers of X's OAuth 2.0 token and revoke endpoints (`POST /2/oauth2/token`, `/2/oauth2/revoke`).

Errors are shaped as X answers them: 401 `unauthorized_client` for bad client authentication;
400 `invalid_request` for a missing parameter or a refresh token that is not live (X's wording);
400 `invalid_grant` for a code that is unknown, used, expired, of another client or redirect URI,
or whose code_verifier does not match its S256 challenge.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from xapi.sandbox.data import JsonObject
from xapi.sandbox.oauth2_clients import SandboxClient, authenticated_client
from xapi.sandbox.oauth2_tokens import Issued, OAuth2Tokens

_UNAUTHORIZED: JsonObject = {"error": "unauthorized_client",
                             "error_description": "Missing valid authorization header"}


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of `verifier`: base64url(sha256), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_answer(
    oauth2: OAuth2Tokens, clients: Mapping[str, SandboxClient], form: dict[str, str],
    basic: tuple[str, str] | None,
) -> tuple[int, JsonObject]:
    """The status and JSON body X answers a token request with."""
    client = authenticated_client(clients, form, basic)
    if client is None:
        return 401, _UNAUTHORIZED
    grant_type = form.get("grant_type")
    if grant_type == "refresh_token":
        issued = oauth2.refresh(form.get("refresh_token", ""), client.client_id)
        if issued is None:
            return 400, {"error": "invalid_request",
                         "error_description": "Value passed for the token was invalid."}
        return 200, _tokens_body(oauth2, issued)
    if grant_type == "authorization_code":
        return _exchange_code(oauth2, client, form)
    return 400, {"error": "unsupported_grant_type",
                 "error_description": "Only authorization_code and refresh_token are supported"}


def _exchange_code(
    oauth2: OAuth2Tokens, client: SandboxClient, form: dict[str, str],
) -> tuple[int, JsonObject]:
    for name in ("code", "redirect_uri", "code_verifier"):
        if not form.get(name):
            return 400, {"error": "invalid_request",
                         "error_description": f"Missing required parameter [{name}]."}
    pending = oauth2.take_code(form["code"])
    if (
        pending is None or pending.grant.client_id != client.client_id
        or pending.redirect_uri != form["redirect_uri"]
        or not hmac.compare_digest(s256(form["code_verifier"]), pending.code_challenge)
    ):
        return 400, {"error": "invalid_grant",
                     "error_description": "Value passed for the authorization code was invalid."}
    return 200, _tokens_body(oauth2, oauth2.issue(pending.grant))


def revoke_answer(
    oauth2: OAuth2Tokens, clients: Mapping[str, SandboxClient], form: dict[str, str],
    basic: tuple[str, str] | None,
) -> tuple[int, JsonObject]:
    """X answers a revocation `{"revoked": true}`, known token or not (RFC 7009)."""
    client = authenticated_client(clients, form, basic)
    if client is None:
        return 401, _UNAUTHORIZED
    if not form.get("token"):
        return 400, {"error": "invalid_request", "error_description": "Missing required parameter [token]."}
    oauth2.revoke(form["token"], client.client_id)
    return 200, {"revoked": True}


def _tokens_body(oauth2: OAuth2Tokens, issued: Issued) -> JsonObject:
    body: JsonObject = {
        "token_type": "bearer", "expires_in": oauth2.access_token_lifetime,
        "access_token": issued.access_token, "scope": issued.grant.scope,
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    return body
