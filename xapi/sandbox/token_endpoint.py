"""The answers of X's OAuth 2.0 token endpoint, `POST /2/oauth2/token`."""

from __future__ import annotations

from xapi.sandbox.auth import OAUTH2_SCOPE, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, OAuth2Tokens
from xapi.sandbox.data import JsonObject


def token_answer(
    oauth2: OAuth2Tokens, form: dict[str, str], basic: tuple[str, str] | None,
) -> tuple[int, JsonObject]:
    """The status and JSON body X answers a token request with."""
    client_id = basic[0] if basic else form.get("client_id", "")
    if client_id != SANDBOX_CLIENT_ID or (basic is not None and basic[1] != SANDBOX_CLIENT_SECRET):
        return 401, {"error": "unauthorized_client",
                     "error_description": "Missing valid authorization header"}
    if form.get("grant_type") != "refresh_token":
        return 400, {"error": "unsupported_grant_type",
                     "error_description": "Only refresh_token is supported"}
    pair = oauth2.refresh(form.get("refresh_token", ""))
    if pair is None:
        return 400, {"error": "invalid_request",
                     "error_description": "Value passed for the token was invalid."}
    access, refresh = pair
    return 200, {
        "token_type": "bearer", "expires_in": oauth2.access_token_lifetime, "access_token": access,
        "scope": OAUTH2_SCOPE, "refresh_token": refresh,
    }
