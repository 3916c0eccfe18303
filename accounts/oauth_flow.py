"""The client side of X's OAuth 2.0 Authorization Code flow with PKCE (S256), for /x connect and /link.

Pure helpers make the state, the code verifier and its challenge, the consent-page URL, and read
the callback's query; three I/O steps talk to X: exchange the code, read `GET /2/users/me`, revoke.
Every failure is one `OAuthFlowError` subclass whose message is a plain sentence for a person;
no token, code, state or verifier ever enters a message, a repr or a log line. (A little
over 300 lines: the three I/O steps share one mapping of X's answers to errors, kept beside them.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import aiohttp
import yarl

DEFAULT_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
DEFAULT_API_BASE_URL = "https://api.x.com"
CALLBACK_PATH = "/x/callback"
CONNECT_SCOPES = ("tweet.read", "users.read", "like.read", "offline.access")
LINK_SCOPES = ("tweet.read", "users.read")

# X's codes live 30 s: a slow answer must fail in time for the person to try again.
_REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=15)
# X allows states of up to 500 characters; anything longer was not made here.
_MAX_STATE_LENGTH = 500


class OAuthFlowError(Exception):
    """Base class: the authorization did not complete. `message` is safe to show a person."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConsentDenied(OAuthFlowError):
    """The person pressed Cancel on X's consent page (`error=access_denied`)."""


class AuthorizationFailed(OAuthFlowError):
    """X sent the browser back with another `error`, or without a code or state."""


class UnknownState(OAuthFlowError):
    """The callback's state is unknown, already used or expired (10 minutes)."""


class CodeRejected(OAuthFlowError):
    """X refused the code (`invalid_grant`): expired (30 s), already used, or not this verifier's."""


class ClientRejected(OAuthFlowError):
    """X refused the app itself: wrong X_CLIENT_ID/X_CLIENT_SECRET or an unregistered callback URL."""


class AccountSuspended(OAuthFlowError):
    """The account that approved is suspended by X."""


class XUnavailable(OAuthFlowError):
    """X answered 5xx, or could not be reached in time."""


class UnexpectedAnswer(OAuthFlowError):
    """X answered something this flow cannot read (not JSON, missing fields, an unknown status)."""


@dataclass(frozen=True, slots=True)
class OAuthClientConfig:
    """The X app's OAuth 2.0 client and where its endpoints are."""

    client_id: str
    redirect_uri: str
    client_secret: str | None = field(default=None, repr=False)
    authorize_url: str = DEFAULT_AUTHORIZE_URL
    api_base_url: str = DEFAULT_API_BASE_URL

    @property
    def confidential(self) -> bool:
        """True when the app authenticates with its secret (HTTP Basic) rather than in the body."""
        return bool(self.client_secret)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What to keep (state, verifier) and where to send the browser (url) for one authorization."""

    url: str = field(repr=False)
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class CallbackQuery:
    """The query X sent the browser back with; code and state are secrets, so not in the repr."""

    code: str | None = field(default=None, repr=False)
    state: str | None = field(default=None, repr=False)
    error: str | None = None

    @classmethod
    def from_mapping(cls, query: Mapping[str, str]) -> CallbackQuery:
        """From a request's query (empty values count as absent)."""
        return cls(query.get("code") or None, query.get("state") or None, query.get("error") or None)

    @classmethod
    def from_pasted_address(cls, text: str) -> CallbackQuery:
        """From the address a member pasted (when the browser could not reach the bot); any host."""
        query = urlsplit(text.strip()).query
        return cls.from_mapping(dict(parse_qsl(query, keep_blank_values=True)))


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """X's answer to a code exchange. `refresh_token` only comes with `offline.access`."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: float
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class XAccount:
    """Who a user token belongs to, as `GET /2/users/me` says."""

    id: str
    username: str
    name: str


def new_state() -> str:
    """A fresh state: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    """A fresh PKCE code verifier: 86 unreserved characters (RFC 7636 allows 43 to 128)."""
    return secrets.token_urlsafe(64)


def code_challenge(code_verifier: str) -> str:
    """The S256 challenge of a verifier: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_request(config: OAuthClientConfig, scopes: tuple[str, ...]) -> AuthorizationRequest:
    """A new state and verifier, and the consent-page URL that carries the state and the challenge."""
    state, verifier = new_state(), new_code_verifier()
    url = authorize_url(config, scopes, state, code_challenge(verifier))
    return AuthorizationRequest(url, state, verifier)


def authorize_url(config: OAuthClientConfig, scopes: tuple[str, ...], state: str, challenge: str) -> str:
    """X's consent-page URL (config.authorize_url, whatever query it already has, plus the flow's)."""
    params = {
        "response_type": "code", "client_id": config.client_id, "redirect_uri": config.redirect_uri,
        "scope": " ".join(scopes), "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    base = urlsplit(config.authorize_url)
    # Spaces of the scope as %20 (not +), the form X's documentation shows.
    ours = "&".join(f"{name}={quote(value, safe='-._~')}" for name, value in params.items())
    query = "&".join(q for q in (base.query, ours) if q)
    return base._replace(query=query).geturl()


def check_callback(query: CallbackQuery) -> tuple[str, str]:
    """The (code, state) of a successful callback, or the OAuthFlowError that says what happened."""
    if query.error == "access_denied":
        raise ConsentDenied("You cancelled on X, so nothing was connected.")
    if query.error is not None:
        raise AuthorizationFailed("X did not authorize LikeLens, so nothing was connected.")
    if query.code is None or query.state is None or len(query.state) > _MAX_STATE_LENGTH:
        raise AuthorizationFailed(
            "This address is not a complete answer from X (it lacks the code or the state), "
            "so nothing was connected.",
        )
    return query.code, query.state


async def exchange_code(
    session: aiohttp.ClientSession, config: OAuthClientConfig, *, code: str, code_verifier: str,
) -> TokenGrant:
    """Trade the authorization code (at once: it lives 30 s) for the user's tokens."""
    form = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": config.redirect_uri,
        "code_verifier": code_verifier,
    }
    status, body = await _post_form(session, config, "/2/oauth2/token", form, "sign-in")
    if status != 200:
        raise _token_error(status, body)
    return _grant(body)


async def read_me(session: aiohttp.ClientSession, config: OAuthClientConfig, access_token: str) -> XAccount:
    """Whose account the new access token belongs to (`GET /2/users/me`)."""
    url = yarl.URL(config.api_base_url.rstrip("/") + "/2/users/me")
    headers = {"Authorization": f"Bearer {access_token}"}
    status, body = await _send(session, "GET", url, headers=headers, what="account lookup")
    if status == 200:
        account = _account(body.get("data") if isinstance(body, dict) else None)
        if account is not None:
            return account
        if _says_suspended(body):
            # X (and the sandbox) answer 200 with only a "User has been suspended" error for it.
            raise AccountSuspended(_SUSPENDED, status=status)
        raise UnexpectedAnswer("X's answer about the account could not be read, so nothing was connected.")
    if status in (401, 403) and _says_suspended(body):
        raise AccountSuspended(_SUSPENDED, status=status)
    raise _status_error(status, "account lookup")


async def revoke(
    session: aiohttp.ClientSession, config: OAuthClientConfig, token: str,
    token_type_hint: Literal["access_token", "refresh_token"] = "refresh_token",
) -> None:
    """Ask X to revoke a token (`POST /2/oauth2/revoke`); a token X already forgot counts as revoked."""
    form = {"token": token, "token_type_hint": token_type_hint}
    status, body = await _post_form(session, config, "/2/oauth2/revoke", form, "revocation")
    if status == 200:
        return
    if status in (400, 401) and _oauth_error(body) in ("invalid_client", "unauthorized_client"):
        raise ClientRejected(_CLIENT_REJECTED, status=status)
    raise _status_error(status, "revocation")


_SUSPENDED = "X says this account is suspended, so it cannot be connected."
_CLIENT_REJECTED = (
    "X refused LikeLens' app credentials; the operator must check X_CLIENT_ID, X_CLIENT_SECRET and "
    "the callback URL registered at X."
)


async def _post_form(
    session: aiohttp.ClientSession, config: OAuthClientConfig, path: str, form: dict[str, str], what: str,
) -> tuple[int, object]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if config.confidential:
        # Confidential clients authenticate with HTTP Basic; aiohttp's auth= is deprecated for this.
        pair = f"{config.client_id}:{config.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    else:
        form = {**form, "client_id": config.client_id}
    url = yarl.URL(config.api_base_url.rstrip("/") + path)
    return await _send(session, "POST", url, headers=headers, data=urlencode(form), what=what)


async def _send(
    session: aiohttp.ClientSession, method: str, url: yarl.URL, *, headers: dict[str, str],
    data: str | None = None, what: str,
) -> tuple[int, object]:
    try:
        request = session.request(method, url, headers=headers, data=data, timeout=_REQUEST_TIMEOUT)
        async with request as response:
            status = response.status
            text = await response.text(errors="replace")
    except (aiohttp.ClientError, OSError, TimeoutError):
        # The exception may quote the request: it is not chained into a message or a log.
        raise XUnavailable(f"X could not be reached for the {what}; please try again in a minute.") from None
    try:
        body: object = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    return status, body


def _grant(body: object) -> TokenGrant:
    if not isinstance(body, dict):
        raise UnexpectedAnswer("X's answer to the sign-in could not be read, so nothing was connected.")
    access, refresh, lifetime = body.get("access_token"), body.get("refresh_token"), body.get("expires_in")
    if not isinstance(access, str) or not access or (refresh is not None and not isinstance(refresh, str)):
        raise UnexpectedAnswer("X's answer to the sign-in lacks a token, so nothing was connected.")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = 7200
    scope = body.get("scope")
    scopes = tuple(scope.split()) if isinstance(scope, str) else ()
    return TokenGrant(access, refresh or None, float(lifetime), scopes)


def _account(data: object) -> XAccount | None:
    if not isinstance(data, dict):
        return None
    user_id, username, name = data.get("id"), data.get("username"), data.get("name")
    if not (isinstance(user_id, str) and user_id and isinstance(username, str) and username):
        return None
    return XAccount(user_id, username, name if isinstance(name, str) and name else username)


def _oauth_error(body: object) -> str | None:
    value = body.get("error") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _says_suspended(body: object) -> bool:
    # X's words (or legacy error code 64) only decide the class; they are never copied into a message.
    if body is None:
        return False
    legacy = body.get("errors") if isinstance(body, dict) else None
    if isinstance(legacy, list) and any(isinstance(e, dict) and e.get("code") == 64 for e in legacy):
        return True
    return "suspend" in json.dumps(body).lower()


def _token_error(status: int, body: object) -> OAuthFlowError:
    error = _oauth_error(body)
    if status in (400, 401) and error == "invalid_grant":
        if _says_suspended(body):
            return AccountSuspended(_SUSPENDED, status=status)
        return CodeRejected(
            "X refused the sign-in code because it expired (X's codes last 30 seconds) or was already "
            "used; start again from Discord.", status=status,
        )
    if status in (400, 401) and error in ("invalid_client", "unauthorized_client", "invalid_request"):
        return ClientRejected(_CLIENT_REJECTED, status=status)
    if status in (401, 403) and _says_suspended(body):
        return AccountSuspended(_SUSPENDED, status=status)
    return _status_error(status, "sign-in")


def _status_error(status: int, what: str) -> OAuthFlowError:
    if status >= 500:
        return XUnavailable(f"X had a problem with the {what} (HTTP {status}); please try again in a minute.",
                            status=status)
    return UnexpectedAnswer(f"X refused the {what} (HTTP {status}), so nothing was changed.", status=status)
