"""OAuth 2.0 grants of the X sandbox: authorization codes, access tokens and rotating refresh tokens.

A grant is what an account allowed a client: its scopes. Access tokens live `access_token_lifetime`
seconds on the sandbox clock; refresh tokens are single use (each refresh rotates it, the old one
is refused); codes are single use and live `code_lifetime` seconds (X's 30). The long-standing
sandbox refresh token (SANDBOX_REFRESH_TOKEN, the owner's, every scope) keeps its predictable
names, `sandbox-refresh-token-N` and `sandbox-oauth2-access-N`; tokens of the code flow are random.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from xapi.sandbox.data import OWNER_ID

SANDBOX_CLIENT_ID = "sandbox-client-id"
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
SANDBOX_REFRESH_TOKEN = "sandbox-refresh-token-0"
OAUTH2_SCOPE = "tweet.read users.read like.read offline.access"
CODE_LIFETIME = 30.0


@dataclass(frozen=True, slots=True)
class Grant:
    """What `account_id` allowed `client_id`: `scopes`, in the order they were asked."""

    account_id: str
    scopes: tuple[str, ...]
    client_id: str

    @property
    def scope(self) -> str:
        """The scopes as the token endpoint answers them: one space-separated string."""
        return " ".join(self.scopes)


@dataclass(frozen=True, slots=True)
class IssuedAccess:
    """A live access token's grant and expiry on the sandbox clock."""

    grant: Grant
    expires_at: float


@dataclass(frozen=True, slots=True)
class PendingCode:
    """An authorization code not yet exchanged: whose, for which redirect, with which challenge."""

    grant: Grant
    redirect_uri: str
    code_challenge: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class Issued:
    """What the token endpoint answers with; `refresh_token` only with offline.access."""

    access_token: str
    refresh_token: str | None
    grant: Grant


LEGACY_GRANT = Grant(OWNER_ID, tuple(OAUTH2_SCOPE.split()), SANDBOX_CLIENT_ID)


@dataclass(slots=True)
class OAuth2Tokens:
    """Issued OAuth 2.0 user tokens and pending codes; a refresh token rotates on every refresh."""

    clock: Callable[[], float]
    access_token_lifetime: int
    code_lifetime: float = CODE_LIFETIME
    # The live token of the long-standing owner chain (what `XSandbox.refresh_token` reports).
    refresh_token: str = SANDBOX_REFRESH_TOKEN
    generation: int = 0
    access_tokens: dict[str, IssuedAccess] = field(default_factory=dict)
    # Live refresh tokens -> their grant; the owner chain's one included.
    refresh_grants: dict[str, Grant] = field(default_factory=lambda: {SANDBOX_REFRESH_TOKEN: LEGACY_GRANT})
    codes: dict[str, PendingCode] = field(default_factory=dict)
    refreshes: int = 0

    def new_code(self, grant: Grant, redirect_uri: str, code_challenge: str) -> str:
        """A fresh single-use authorization code for `grant`."""
        code = secrets.token_urlsafe(32)
        self.codes[code] = PendingCode(grant, redirect_uri, code_challenge, self.clock() + self.code_lifetime)
        return code

    def take_code(self, code: str) -> PendingCode | None:
        """The code's pending grant, used up now; None when unknown, used or expired."""
        pending = self.codes.pop(code, None)
        if pending is None or self.clock() >= pending.expires_at:
            return None
        return pending

    def issue(self, grant: Grant) -> Issued:
        """New random tokens for `grant` (a refresh token only with offline.access)."""
        access = secrets.token_urlsafe(32)
        self.access_tokens[access] = IssuedAccess(grant, self.clock() + self.access_token_lifetime)
        refresh = None
        if "offline.access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            self.refresh_grants[refresh] = grant
        return Issued(access, refresh, grant)

    def refresh(self, presented: str, client_id: str = SANDBOX_CLIENT_ID) -> Issued | None:
        """New tokens in exchange for a live refresh token of `client_id`, which is used up; else None."""
        grant = self.refresh_grants.get(presented)
        if grant is None or grant.client_id != client_id:
            return None
        del self.refresh_grants[presented]
        self.refreshes += 1
        if presented != self.refresh_token:
            return self.issue(grant)
        self.generation += 1
        self.refresh_token = f"sandbox-refresh-token-{self.generation}"
        access = f"sandbox-oauth2-access-{self.generation}"
        self.access_tokens[access] = IssuedAccess(grant, self.clock() + self.access_token_lifetime)
        self.refresh_grants[self.refresh_token] = grant
        return Issued(access, self.refresh_token, grant)

    def live_access(self, access_token: str) -> IssuedAccess | None:
        """The grant behind a live access token, or None (unknown, revoked or expired)."""
        issued = self.access_tokens.get(access_token)
        return issued if issued is not None and self.clock() < issued.expires_at else None

    def is_live(self, access_token: str) -> bool:
        return self.live_access(access_token) is not None

    def revoke(self, token: str, client_id: str) -> None:
        """`token` (access or refresh) of `client_id` stops working at once; others' tokens are kept."""
        issued = self.access_tokens.get(token)
        if issued is not None and issued.grant.client_id == client_id:
            del self.access_tokens[token]
        grant = self.refresh_grants.get(token)
        if grant is not None and grant.client_id == client_id:
            del self.refresh_grants[token]

    def revoke_all(self) -> None:
        """Forget every access token (as if the user revoked the app's access)."""
        self.access_tokens.clear()
