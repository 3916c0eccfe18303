"""The three ways LikeLens authenticates to X: OAuth 1.0a user keys, OAuth 2.0 user token, app bearer.

Each kind gives the client the `Authorization` header for one exact request URL and a token
identity: a short hash that keys rate budgets and caches without holding the secret itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import aiohttp
import yarl
from oauthlib import oauth1

from xapi import errors
from xapi.caching import mark_retrieved

AuthKind = Literal["oauth1", "oauth2_user", "bearer"]

# Refresh a little before X's expiry so a request never leaves with a token about to die.
_EXPIRY_MARGIN = 60.0
# A token refresh runs apart from any caller's deadline, so it needs its own bound.
_REFRESH_TIMEOUT = 30.0
# Saving a rotated refresh token: each attempt is bounded; failed ones are retried with backoff.
SAVE_ATTEMPT_TIMEOUT = 15.0
SAVE_RETRY_FIRST = 1.0
SAVE_RETRY_CAP = 60.0

log = logging.getLogger("likelens.x")


def _identity(kind: str, public_part: str) -> str:
    return f"{kind}:{hashlib.sha256(public_part.encode()).hexdigest()[:16]}"


class OAuth1UserAuth:
    """OAuth 1.0a user context: every request is signed (HMAC-SHA1) over the exact URL sent."""

    kind: AuthKind = "oauth1"

    def __init__(self, api_key: str, api_secret: str, access_token: str, access_token_secret: str) -> None:
        self._client = oauth1.Client(
            api_key, client_secret=api_secret, resource_owner_key=access_token,
            resource_owner_secret=access_token_secret, signature_method=oauth1.SIGNATURE_HMAC,
        )
        self._secrets = (api_key, api_secret, access_token, access_token_secret)
        # The user id is the public prefix of an OAuth 1.0a access token.
        self.identity = _identity("oauth1", f"{api_key}|{access_token.split('-', 1)[0]}")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (the client scrubs them)."""
        return self._secrets

    async def authorization(
        self, session: aiohttp.ClientSession, base_url: str, method: str, url: str,
    ) -> str:
        """The `Authorization` header for `method url` (the URL exactly as it will be sent)."""
        _, headers, _ = self._client.sign(url, http_method=method.upper())  # type: ignore[arg-type]
        return str(headers["Authorization"])

    async def after_unauthorized(self, session: aiohttp.ClientSession, base_url: str, used: str) -> bool:
        """OAuth 1.0a keys cannot be refreshed: a 401 is final."""
        return False

    def notices(self) -> tuple[str, ...]:
        """Nothing to tell the operator: these keys never change."""
        return ()


class BearerAuth:
    """App-only bearer token: public lookups only (X refuses it on the likes endpoints)."""

    kind: AuthKind = "bearer"

    def __init__(self, token: str) -> None:
        self._token = token
        self.identity = _identity("bearer", token)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message."""
        return (self._token,)

    async def authorization(
        self, session: aiohttp.ClientSession, base_url: str, method: str, url: str,
    ) -> str:
        """The `Authorization` header."""
        return f"Bearer {self._token}"

    async def after_unauthorized(self, session: aiohttp.ClientSession, base_url: str, used: str) -> bool:
        """A bearer token cannot be refreshed: a 401 is final."""
        return False

    def notices(self) -> tuple[str, ...]:
        """Nothing to tell the operator: the token never changes."""
        return ()


class OAuth2UserAuth:
    """OAuth 2.0 user context with a rotating refresh token.

    X spends the old refresh token as soon as it issues a new one, so `on_rotate(new_refresh_token)`
    (the save) is awaited before the new access token is used. When the save fails (a full disk, a
    locked database), the new access token is used anyway and the save is retried in the background,
    with backoff, until it succeeds or the process stops (`aclose` tries once more). Meanwhile the
    token is never refreshed: once the access token expires, calls raise TokenNotSaved instead of
    spending the only refresh token that works, and `notices()` tells `/likes status`.
    """

    kind: AuthKind = "oauth2_user"

    def __init__(
        self, client_id: str, client_secret: str | None, refresh_token: str,
        on_rotate: Callable[[str], Awaitable[None]] | None = None,
        *, clock: Callable[[], float] | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._on_rotate = on_rotate
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._refreshing: asyncio.Task[str] | None = None
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._past_secrets: list[str] = []
        # A rotated refresh token not saved yet, why its last save failed, and the task retrying it.
        self._unsaved: str | None = None
        self._save_problem = ""
        self._saver: asyncio.Task[None] | None = None
        # The user is unknown until /2/users/me; the starting refresh token tells users apart.
        self.identity = _identity("oauth2_user", f"{client_id}|{refresh_token}")

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every token this object has held, and the client secret."""
        current = [self._refresh_token, self._access_token or "", self._client_secret or ""]
        return tuple(s for s in [*current, *self._past_secrets] if s)

    async def authorization(
        self, session: aiohttp.ClientSession, base_url: str, method: str, url: str,
    ) -> str:
        """The `Authorization` header, refreshing the access token first when it is missing or expiring."""
        token = self._access_token
        if token is None or self._clock() >= self._expires_at:
            token = await self._refresh(session, base_url, stale=token)
        return f"Bearer {token}"

    async def after_unauthorized(self, session: aiohttp.ClientSession, base_url: str, used: str) -> bool:
        """After a 401 with header `used`: refresh once (shared with concurrent callers); True to retry."""
        stale = used.removeprefix("Bearer ")
        await self._refresh(session, base_url, stale=stale)
        return True

    def notices(self) -> tuple[str, ...]:
        """What the operator must know now (shown by /likes status); never a secret."""
        if self._unsaved is None:
            return ()
        return (f"The new X refresh token is not saved yet ({self._save_problem}): retrying…",)

    async def aclose(self) -> None:
        """Stop retrying; a token still unsaved gets one last attempt, then one error line."""
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        if self._unsaved is not None and not await self._save(self._unsaved):
            log.error(
                "The new X refresh token was never saved (%s): X has spent the previous one, so after this "
                "stop authorize the account again and set X_OAUTH2_REFRESH_TOKEN", self._save_problem,
            )

    async def _refresh(self, session: aiohttp.ClientSession, base_url: str, *, stale: str | None) -> str:
        # Another caller already refreshed past the token this one saw: use the new one.
        current = self._access_token
        if current is not None and current != stale and self._clock() < self._expires_at:
            return current
        if self._unsaved is not None:
            # Refreshing would spend the only refresh token that works, which is not saved yet.
            raise errors.TokenNotSaved(
                f"LikeLens cannot reach X until it has saved X's new refresh token ({self._save_problem}); "
                "it keeps trying.", endpoint="oauth2_token",
            )
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.ensure_future(self._rotate(session, base_url))
            self._refreshing.add_done_callback(mark_retrieved)
        # Shielded: a caller's deadline must not abort a rotation X may already have made.
        return await asyncio.shield(self._refreshing)

    async def _rotate(self, session: aiohttp.ClientSession, base_url: str) -> str:
        async with asyncio.timeout(_REFRESH_TIMEOUT):
            body = await self._token_request(session, base_url)
        access, refresh, lifetime = _token_fields(body)
        self._past_secrets = [*self._past_secrets, self._refresh_token, self._access_token or ""][-8:]
        # The old refresh token is dead from now on: keep the new one even if saving it fails.
        self._refresh_token = refresh
        self._access_token = None
        if not await self._save(refresh):
            self._unsaved = refresh
            log.warning(
                "The new X refresh token could not be saved (%s): LikeLens keeps the X access token it has, "
                "retries the save in the background and will not refresh the X token until it is saved",
                self._save_problem,
            )
            if self._saver is None or self._saver.done():
                self._saver = asyncio.ensure_future(self._keep_saving())
        self._access_token = access
        self._expires_at = self._clock() + max(lifetime - _EXPIRY_MARGIN, lifetime / 2)
        return access

    async def _save(self, token: str) -> bool:
        """One bounded attempt to save token; False (and the reason kept) when it failed."""
        if self._on_rotate is None:
            return True
        try:
            async with asyncio.timeout(SAVE_ATTEMPT_TIMEOUT):
                await self._on_rotate(token)
        except Exception as exc:  # whatever the store raised, the token must not be lost
            self._save_problem = self._describe(exc)
            return False
        return True

    async def _keep_saving(self) -> None:
        delay = SAVE_RETRY_FIRST
        while (token := self._unsaved) is not None:
            await asyncio.sleep(delay)
            if await self._save(token):
                if self._unsaved == token:
                    self._unsaved = None
                log.info("The new X refresh token is saved now: X token refreshes resume")
                continue
            delay = min(delay * 2, SAVE_RETRY_CAP)

    def _describe(self, exc: Exception) -> str:
        text = " ".join(str(exc).split())[:120] or type(exc).__name__
        if isinstance(exc, TimeoutError):
            text = f"no answer within {SAVE_ATTEMPT_TIMEOUT:g} s"
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    async def _token_request(self, session: aiohttp.ClientSession, base_url: str) -> dict[str, object]:
        form = {
            "grant_type": "refresh_token", "refresh_token": self._refresh_token, "client_id": self._client_id,
        }
        headers = {}
        if self._client_secret:
            # Confidential clients authenticate with HTTP Basic (client id, client secret).
            pair = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        url = yarl.URL(base_url.rstrip("/") + "/2/oauth2/token")
        try:
            async with session.post(url, data=form, headers=headers) as response:
                status = response.status
                text = await response.text(errors="replace")
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.ServerError(
                "Could not reach X to refresh the OAuth 2.0 token.", endpoint="oauth2_token",
            ) from exc
        if status in (400, 401):
            raise errors.Unauthorized(
                "X refused the OAuth 2.0 refresh token; authorize the account again and set "
                "X_OAUTH2_REFRESH_TOKEN.", endpoint="oauth2_token", status=status,
            )
        if status != 200:
            cls = errors.ServerError if status >= 500 else errors.Unauthorized
            raise cls(f"X answered HTTP {status} to the OAuth 2.0 token refresh.", endpoint="oauth2_token",
                      status=status)
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise errors.UndecodableResponse(
                "X answered the OAuth 2.0 token refresh with a body that is not JSON.",
                endpoint="oauth2_token",
            )
        return body


def _token_fields(body: dict[str, object]) -> tuple[str, str, float]:
    access, refresh = body.get("access_token"), body.get("refresh_token")
    lifetime = body.get("expires_in", 7200)
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise errors.UndecodableResponse(
            "X's OAuth 2.0 token answer lacks an access or refresh token.", endpoint="oauth2_token",
        )
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
        lifetime = 7200
    return access, refresh, float(lifetime)


AnyAuth = OAuth1UserAuth | OAuth2UserAuth | BearerAuth
