"""AccountAuth: the OAuth 2.0 user auth of one server's connected account (store/connected_accounts.py).

It starts from the stored access token; X's refusal of the refresh token becomes
`AccountNeedsReconnect` (reported once to `on_refused`). Several bot processes hold the same
connection, and X's refresh tokens are single use: when X refuses the one this process holds, the
stored row is read again first (`reload`), and if another process rotated the connection since,
its tokens are taken up instead of marking the connection refused. `take_up` does the same when
the registry notices a rotation in the store (AccountRegistry.refresh).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from store.connected_accounts import ConnectedAccount
from xapi import errors
from xapi.auth import OAuth2UserAuth

log = logging.getLogger("likelens.accounts")

# Why a connection needs reconnecting, as digests' pause reason and /likes status say it.
REFRESH_REFUSED = "X no longer accepts the server's connection (it refused the refresh token)"
# Another process may have had X's new tokens for a moment without having stored them yet.
STORED_RECHECK_SECONDS = 1.0

Reload = Callable[[], Awaitable[ConnectedAccount | None]]


def reconnect_sentence(handle: str) -> str:
    """What a member of a server whose connection X refused reads instead of an answer."""
    return (f"X no longer accepts this server's connection to @{handle}: a server manager can reconnect "
            "with `/x connect`.")


async def _nothing_stored() -> ConnectedAccount | None:
    return None


class AccountAuth(OAuth2UserAuth):
    """OAuth 2.0 user auth of one connected account (see the module's docstring)."""

    def __init__(
        self, client_id: str, client_secret: str | None, connection: ConnectedAccount, *,
        on_rotate: Callable[[str], Any], on_refused: Callable[[], Any], clock: Callable[[], float],
        reload: Reload = _nothing_stored,
    ) -> None:
        super().__init__(client_id, client_secret, connection.refresh_token or "", on_rotate, clock=clock)
        self.handle = connection.handle
        # The cache and budget key: this very connection (server, account, when), never another's.
        which = f"{client_id}|{connection.guild_id}|{connection.x_user_id}|{connection.connected_at!r}"
        self.identity = f"oauth2_user:{hashlib.sha256(which.encode()).hexdigest()[:16]}"
        self.refused: str | None = connection.needs_reconnect
        self._on_refused = on_refused
        self._reload = reload
        if connection.access_token and connection.access_expires_at:
            self._access_token = connection.access_token
            self._expires_at = connection.access_expires_at

    @property
    def current_refresh_token(self) -> str | None:
        """The newest refresh token X gave this connection (what to revoke), or None."""
        return self._refresh_token or None

    @property
    def current_access_token(self) -> str | None:
        """The access token in use (revoked with the refresh token: it stays valid for hours), or None."""
        return self._access_token

    def take_up(self, stored: ConnectedAccount, *, held: str | None) -> bool:
        """Use the tokens another process stored after rotating this connection, when this object still
        holds `held` (its refresh token before the row was read) and is not rotating itself."""
        rotating = self._refreshing is not None and not self._refreshing.done()
        if rotating or self._unsaved is not None or self.current_refresh_token != held:
            return False
        return self._adopt(stored)

    def _adopt(self, stored: ConnectedAccount) -> bool:
        if not stored.refresh_token or stored.refresh_token == self._refresh_token:
            return False
        self._past_secrets = [*self._past_secrets, self._refresh_token, self._access_token or ""][-8:]
        self._refresh_token = stored.refresh_token
        self._access_token = stored.access_token
        self._expires_at = stored.access_expires_at or 0.0
        return True

    def _refusal(self) -> errors.AccountNeedsReconnect:
        return errors.AccountNeedsReconnect(reconnect_sentence(self.handle), endpoint="oauth2_token")

    async def authorization(
        self, session: aiohttp.ClientSession, base_url: str, method: str, url: str,
    ) -> str:
        if self.refused is not None:
            raise self._refusal()
        return await super().authorization(session, base_url, method, url)

    async def _rotate(self, session: aiohttp.ClientSession, base_url: str) -> str:
        if self.refused is not None:
            raise self._refusal()
        for _ in range(2):
            sent = self._refresh_token
            try:
                if not sent:
                    # Connected without offline.access: once the access token expires, only a reconnect helps.
                    raise errors.Unauthorized("No refresh token.", endpoint="oauth2_token", status=400)
                return await super()._rotate(session, base_url)
            except errors.Unauthorized as refused:
                # 400: X refused the refresh token itself (invalid_grant; the sandbox: invalid_request).
                # 401 is the app's own credentials: the operator's problem, not this connection's.
                if refused.status != 400:
                    raise
                if not sent or not await self._rotated_elsewhere(sent):
                    break
            if self._access_token is not None and self._clock() < self._expires_at:
                return self._access_token
        self.refused = REFRESH_REFUSED
        try:
            await self._on_refused()
        except Exception:
            log.exception("Could not record that X refused a connection's refresh token")
        raise self._refusal() from None

    async def _rotated_elsewhere(self, sent: str) -> bool:
        """After X refused `sent`: True when another process stored newer tokens (now taken up)."""
        for wait in (0.0, STORED_RECHECK_SECONDS):
            await asyncio.sleep(wait)
            try:
                stored = await self._reload()
            except Exception:
                log.warning("Could not read a connection's stored tokens again", exc_info=True)
                return False
            if stored is None or stored.needs_reconnect is not None:
                return False
            if stored.refresh_token != sent:
                return self._adopt(stored)
        return False
