"""Credentials of the X sandbox and the checks of each kind of token it accepts.

OAuth 2.0 grants and their tokens live in oauth2_tokens; this module tells who a request is from.

OAuth 1.0a signatures are verified by oauthlib's server side over the URL exactly as received, so a
client that signs a different string than it sends is refused like X would refuse it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from oauthlib.common import Request
from oauthlib.oauth1 import RequestValidator, ResourceEndpoint

from xapi.sandbox.data import OWNER_ID
from xapi.sandbox.oauth2_tokens import OAuth2Tokens

SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_API_SECRET = "sandbox-api-secret"
SANDBOX_ACCESS_TOKEN = "1600000000000000001-sandboxaccesstoken"
SANDBOX_ACCESS_TOKEN_SECRET = "sandbox-access-token-secret"
SANDBOX_BEARER_TOKEN = "sandbox-bearer-token"

AuthKind = Literal["oauth1", "oauth2_user", "bearer", "none", "invalid"]
# oauthlib's own window for timestamps; nonces are remembered for as long.
TIMESTAMP_LIFETIME = 600


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request: the kind of token and a stable identity for rate budgets (never the secret)."""

    kind: AuthKind
    identity: str
    # Why an "invalid" caller was refused: "signature" gets X's legacy code-32 body.
    failure: str = ""
    # The account a user-context caller acts as (OAuth 1.0a keys are the owner's).
    account_id: str | None = None
    # What an OAuth 2.0 user token was granted; None: not scope-limited (OAuth 1.0a, bearer).
    scopes: frozenset[str] | None = None


class _SandboxValidator(RequestValidator):
    """Knows the one sandbox consumer and access token; refuses reused nonces."""

    def __init__(self, seen_nonces: dict[tuple[str, str, str], int]) -> None:
        super().__init__()
        self._seen_nonces = seen_nonces

    @property
    def enforce_ssl(self) -> bool:
        return False

    @property
    def timestamp_lifetime(self) -> int:
        return TIMESTAMP_LIFETIME

    @property
    def dummy_client(self) -> str:
        return "dummy-client"

    @property
    def dummy_access_token(self) -> str:
        return "dummy-access-token"

    # Key formats are X's business, not oauthlib's default 20-30 alphanumerics.
    def check_client_key(self, client_key: str) -> bool:
        return 0 < len(client_key) <= 200

    def check_access_token(self, request_token: str) -> bool:
        return 0 < len(request_token) <= 200

    def check_nonce(self, nonce: str) -> bool:
        return 0 < len(nonce) <= 200

    def validate_client_key(self, client_key: str, request: Request) -> bool:
        return hmac.compare_digest(client_key, SANDBOX_API_KEY)

    def validate_access_token(self, client_key: str, token: str, request: Request) -> bool:
        return hmac.compare_digest(token, SANDBOX_ACCESS_TOKEN)

    def validate_realms(
        self, client_key: str, token: str, request: Request, uri: str | None = None,
        realms: list[str] | None = None,
    ) -> bool:
        return True

    def get_client_secret(self, client_key: str, request: Request) -> str:
        # oauthlib asks for the dummy client's secret too, so that timing does not reveal valid keys.
        return SANDBOX_API_SECRET if client_key == SANDBOX_API_KEY else "dummy-secret"

    def get_access_token_secret(self, client_key: str, token: str, request: Request) -> str:
        return SANDBOX_ACCESS_TOKEN_SECRET if token == SANDBOX_ACCESS_TOKEN else "dummy-token-secret"

    def validate_timestamp_and_nonce(  # noqa: PLR0917 (oauthlib's signature)
        self, client_key: str, timestamp: str, nonce: str, request: Request,
        request_token: str | None = None, access_token: str | None = None,
    ) -> bool:
        key = (client_key, nonce, timestamp)
        if key in self._seen_nonces:
            return False
        stamp = int(timestamp)
        if len(self._seen_nonces) > 10_000:
            oldest_allowed = stamp - 2 * TIMESTAMP_LIFETIME
            for old in [k for k, v in self._seen_nonces.items() if v < oldest_allowed]:
                del self._seen_nonces[old]
        self._seen_nonces[key] = stamp
        return True


class SandboxAuthenticator:
    """Classifies the Authorization header of a request into a `Caller`."""

    def __init__(self, oauth2: OAuth2Tokens) -> None:
        self.oauth2 = oauth2
        self.seen_nonces: dict[tuple[str, str, str], int] = {}
        self._endpoint = ResourceEndpoint(_SandboxValidator(self.seen_nonces))

    def kind_of(self, headers: Mapping[str, str]) -> AuthKind:
        """The kind of credentials a request carries, without checking a signature or using a nonce."""
        scheme, _, credentials = headers.get("Authorization", "").partition(" ")
        if not scheme:
            return "none"
        if scheme.lower() == "oauth":
            return "oauth1"
        if scheme.lower() == "bearer":
            token = credentials.strip()
            if hmac.compare_digest(token.encode(), SANDBOX_BEARER_TOKEN.encode()):
                return "bearer"
            if self.oauth2.is_live(token):
                return "oauth2_user"
        return "invalid"

    def identify(self, method: str, url: str, headers: Mapping[str, str]) -> Caller:
        """Check the request's credentials; `url` must be the URL exactly as the client sent it."""
        header = headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        if not header:
            return Caller("none", "anonymous")
        if scheme.lower() == "oauth":
            try:
                valid, _ = self._endpoint.validate_protected_resource_request(
                    url, http_method=method, body=None, headers={"Authorization": header},
                )
            except (ValueError, TypeError, KeyError):
                valid = False
            if valid:
                return Caller("oauth1", "oauth1:" + SANDBOX_ACCESS_TOKEN, account_id=OWNER_ID)
            return Caller("invalid", "invalid", failure="signature")
        if scheme.lower() == "bearer":
            token = credentials.strip()
            if hmac.compare_digest(token.encode(), SANDBOX_BEARER_TOKEN.encode()):
                return Caller("bearer", "bearer:app")
            issued = self.oauth2.live_access(token)
            if issued is not None:
                # The tokens of one account share its rate budget, as user tokens do on X.
                account = issued.grant.account_id
                return Caller("oauth2_user", "oauth2:" + account, account_id=account,
                              scopes=frozenset(issued.grant.scopes))
        return Caller("invalid", "invalid", failure="token")


def parse_basic_auth(header: str) -> tuple[str, str] | None:
    """(client id, client secret) from an HTTP Basic header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None
