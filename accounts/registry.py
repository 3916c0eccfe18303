"""Which X account serves each server, and that account's own X client: `bot.accounts`.

A server that ran `/x connect` is served by the account it connected (OAuth 2.0; tokens stored
encrypted in store/connected_accounts.py); otherwise by the account configured in the environment
when accounts/rule.py says so (`configured_serves`); otherwise by none. Every account has its own
XClient (its own auth); all share the bot's aiohttp session, ONE bounded cache, whose entries are
keyed by the token's identity, so no account is answered from another's, and the rate budgets in
the store (store/x_budgets.py), which every process on the database takes from.

A connected account's refresh token rotates on every refresh: the new one is saved (encrypted)
before the new access token is used, and refreshes are single-flight per account (both done by
xapi.auth.OAuth2UserAuth). When X refuses the refresh token the account is marked
`needs_reconnect` (persisted): its lookups then raise `AccountNeedsReconnect` with the sentence
members read, and nothing more is sent to X for it (accounts/account_auth.py).

Several processes on one database: each reads the stored connections at start and then every
FOLLOW_SECONDS (`refresh`), taking up those another process made, replaced or removed (a
/x connect whose callback reached another process), refusals it recorded and tokens it rotated.

Revoking at X on disconnect or replace is the caller's job (cogs/x.py): `disconnect` and `connect`
return the old ServingAccount, whose `refresh_token()` is the newest refresh token it held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import aiohttp

from accounts.account_auth import REFRESH_REFUSED, AccountAuth, reconnect_sentence
from accounts.oauth_flow import TokenGrant, XAccount
from accounts.rule import refusal_sentence
from accounts.server_x import LikeCountHints, ServerX
from store import connected_accounts as stored
from store.connected_accounts import ConnectedAccount
from store.engine import Database
from store.x_budgets import StoreBudgets
from xapi import errors
from xapi.auth import OAuth2UserAuth
from xapi.caching import TTLCache
from xapi.client import XClient
from xapi.fields import FieldNaming

# AccountAuth, REFRESH_REFUSED and reconnect_sentence live in accounts/account_auth.py now.
__all__ = ["REFRESH_REFUSED", "AccountAuth", "AccountRegistry", "ServingAccount", "reconnect_sentence",
           "shared_cache"]

log = logging.getLogger("likelens.accounts")

How = Literal["connected", "configured", "sandbox"]
# How often a process takes up the connections other processes made, replaced or removed.
FOLLOW_SECONDS = 10.0
# Seconds of margin before an access token's expiry (as xapi.auth keeps for its own refreshes).
_EXPIRY_MARGIN = 60.0
# The one cache every account's client shares: a minute of answers, bounded.
CACHE_TTL = 60.0
CACHE_SIZE = 4096


def shared_cache(clock: Callable[[], float]) -> TTLCache[Any]:
    """The one bounded cache every account's client shares (keys hold the token identity)."""
    return TTLCache(ttl=CACHE_TTL, max_size=CACHE_SIZE, clock=clock)


class Redactor(Protocol):
    """The log filter that scrubs secrets (launcher.SecretRedactingFilter)."""

    def add(self, secret: str) -> None: ...

    def follow(self, source: Callable[[], Iterable[str]]) -> None: ...


@dataclass(frozen=True)
class ServingAccount:
    """The X account serving one server (None: a direct message), and how it came to serve it."""

    guild_id: int | None
    how: How
    x_user_id: str | None
    handle: str | None
    connected_by: int | None
    connected_at: float | None
    needs_reconnect: str | None
    client: XClient
    _auth: AccountAuth | None = field(default=None, repr=False, compare=False)

    def refresh_token(self) -> str | None:
        """A connected account's newest refresh token (for revoking it at X); None otherwise."""
        return self._auth.current_refresh_token if self._auth is not None else None

    def access_token(self) -> str | None:
        """A connected account's access token in use (for revoking it at X); None otherwise."""
        return self._auth.current_access_token if self._auth is not None else None


@dataclass
class _Connection:
    row: ConnectedAccount
    auth: AccountAuth
    client: XClient

    def serving(self) -> ServingAccount:
        row = self.row
        return ServingAccount(
            guild_id=row.guild_id, how="connected", x_user_id=row.x_user_id, handle=row.handle,
            connected_by=row.connected_by, connected_at=row.connected_at,
            needs_reconnect=self.auth.refused, client=self.client, _auth=self.auth,
        )


class AccountRegistry:
    """`bot.accounts`: the serving account of each server, built in setup_hook after the store."""

    def __init__(
        self, conn: Database, session: aiohttp.ClientSession, *, base_url: str,
        clock: Callable[[], float], field_naming: FieldNaming = "tweet", deadline: float = 10.0,
        oauth_client_id: str | None = None, oauth_client_secret: str | None = None,
        redactor: Redactor | None = None, cache: TTLCache[Any] | None = None, daily_cap: int | None = None,
    ) -> None:
        self._conn = conn
        self._session = session
        self._base_url = base_url
        self._clock = clock
        self._field_naming: FieldNaming = field_naming
        self._deadline = deadline
        # The X app connected accounts refresh through (X_CLIENT_ID; the sandbox's own under --sandbox).
        self.oauth_client_id = oauth_client_id
        self.oauth_client_secret = oauth_client_secret
        self._redactor = redactor
        self.cache: TTLCache[Any] = cache if cache is not None else shared_cache(clock)
        self._budget_ledger = StoreBudgets(conn)
        self._connections: dict[int, _Connection] = {}
        # X_DAILY_ITEMS_PER_SERVER: the items each server may read per UTC day (None: no cap).
        self.daily_cap = daily_cap
        self._hints = LikeCountHints()
        self._configured: XClient | None = None
        self._configured_how: How = "configured"
        self._configured_serves: Callable[[int | None], bool] = lambda guild_id: False
        # connect, disconnect and refresh change _connections one at a time (refresh reads the store first).
        self._changing = asyncio.Lock()
        self._follower: asyncio.Task[None] | None = None

    # ---- building ----------------------------------------------------------------------

    def use_configured(self, client: XClient, *, how: How, serves: Callable[[int | None], bool]) -> None:
        """The account configured in the environment (or the sandbox's): serves where `serves` says."""
        self._configured, self._configured_how, self._configured_serves = client, how, serves

    async def load(self, *, follow_seconds: float | None = FOLLOW_SECONDS) -> None:
        """Build a client for every connection stored (at start), then `refresh` every follow_seconds
        (None: never) until `close`."""
        for row in await stored.all_connected_accounts(self._conn):
            self._connections[row.guild_id] = self._open(row)
        if follow_seconds is not None and self._follower is None:
            self._follower = asyncio.create_task(
                self._follow(follow_seconds), name="likelens-accounts-follow")

    async def _follow(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.refresh()
            except Exception:
                log.warning("Could not read the connected accounts other processes changed", exc_info=True)

    async def refresh(self) -> None:
        """Take up what other processes changed in the store: connections made, replaced or removed,
        refusals recorded, tokens rotated."""
        async with self._changing:
            held = {guild_id: c.auth.current_refresh_token for guild_id, c in self._connections.items()}
            rows = {row.guild_id: row for row in await stored.all_connected_accounts(self._conn)}
            for guild_id, connection in list(self._connections.items()):
                row = rows.get(guild_id)
                if row is None or (row.x_user_id, row.connected_at) != (
                        connection.row.x_user_id, connection.row.connected_at):
                    # Removed or replaced by another process, which revoked it at X.
                    del self._connections[guild_id]
                    await self._retire(connection)
            for guild_id, row in rows.items():
                known = self._connections.get(guild_id)
                if known is None:
                    self._connections[guild_id] = self._open(row)
                elif row.needs_reconnect is not None and known.auth.refused is None:
                    known.auth.refused = row.needs_reconnect
                elif guild_id in held:
                    known.auth.take_up(row, held=held[guild_id])

    def client(self, *, user_auth: OAuth2UserAuth | None = None) -> XClient:
        """A new XClient on the shared session and cache (the configured account's too)."""
        return XClient(
            self._session, base_url=self._base_url, user_auth=user_auth, field_naming=self._field_naming,
            clock=self._clock, deadline=self._deadline, cache=self.cache, budget_ledger=self._budget_ledger,
        )

    def _open(self, row: ConnectedAccount) -> _Connection:
        if self._redactor is not None:
            for secret in (row.refresh_token, row.access_token):
                if secret:
                    self._redactor.add(secret)

        async def persist(new_refresh_token: str) -> None:
            if self._redactor is not None:
                self._redactor.add(new_refresh_token)
            await stored.save_rotated_tokens(
                self._conn, row.guild_id, x_user_id=row.x_user_id, connected_at=row.connected_at,
                refresh_token=new_refresh_token,
            )

        async def refused() -> None:
            await stored.mark_needs_reconnect(
                self._conn, row.guild_id, x_user_id=row.x_user_id, connected_at=row.connected_at,
                reason=REFRESH_REFUSED,
            )
            log.warning("X refused the refresh token of server %d's connection to @%s: it needs reconnecting",
                        row.guild_id, row.handle)

        async def reload() -> ConnectedAccount | None:
            now = await stored.get_connected_account(self._conn, row.guild_id)
            same = now is not None and (now.x_user_id, now.connected_at) == (row.x_user_id, row.connected_at)
            return now if same else None

        auth = AccountAuth(
            self.oauth_client_id or "", self.oauth_client_secret, row, on_rotate=persist, on_refused=refused,
            clock=self._clock, reload=reload,
        )
        if self._redactor is not None:
            self._redactor.follow(lambda: auth.secrets)
        return _Connection(row, auth, self.client(user_auth=auth))

    # ---- the interface -------------------------------------------------------------------

    def serving(self, guild_id: int | None) -> ServingAccount | None:
        """guild_id's account: the one it connected, else the configured one (the rule), else None."""
        connection = self._connections.get(guild_id) if guild_id is not None else None
        if connection is not None:
            return connection.serving()
        if self._configured is not None and self._configured_serves(guild_id):
            return ServingAccount(
                guild_id=guild_id, how=self._configured_how, x_user_id=None, handle=None, connected_by=None,
                connected_at=None, needs_reconnect=None, client=self._configured,
            )
        return None

    def x_for(self, guild_id: int | None) -> ServerX:
        """guild_id's X calls, on its serving account's client and within its daily cap.

        Raises NoServingAccount (the refusal sentence) when no account serves it, and
        AccountNeedsReconnect when X no longer accepts its connection: nothing is sent then.
        """
        serving = self.serving(guild_id)
        if serving is None:
            raise errors.NoServingAccount(refusal_sentence(guild_id))
        if serving.needs_reconnect is not None:
            raise errors.AccountNeedsReconnect(reconnect_sentence(serving.handle or "its account"))
        return self.x_of(serving)

    def x_of(self, serving: ServingAccount) -> ServerX:
        """The metered X calls of serving's server (its client raises AccountNeedsReconnect itself)."""
        return ServerX(serving.client, conn=self._conn, guild_id=serving.guild_id, cap=self.daily_cap,
                       clock=self._clock, hints=self._hints)

    def connected(self) -> list[ServingAccount]:
        """Every connected account, by server id."""
        return [self._connections[guild_id].serving() for guild_id in sorted(self._connections)]

    async def connect(
        self, guild_id: int, *, member_id: int, account: XAccount, grant: TokenGrant, now: float,
    ) -> ServingAccount | None:
        """Make account (its tokens from grant) guild_id's connection; returns the one it replaced (None)."""
        lifetime = grant.expires_in
        row = ConnectedAccount(
            guild_id=guild_id, x_user_id=account.id, handle=account.username, name=account.name,
            scopes=grant.scopes, connected_by=member_id, connected_at=now,
            refresh_token=grant.refresh_token, access_token=grant.access_token,
            access_expires_at=now + max(lifetime - _EXPIRY_MARGIN, lifetime / 2),
        )
        async with self._changing:
            await stored.save_connected_account(self._conn, row)
            old = self._connections.get(guild_id)
            self._connections[guild_id] = self._open(row)
        if old is None:
            return None
        await self._retire(old)
        return old.serving()

    async def disconnect(self, guild_id: int) -> ServingAccount | None:
        """Forget guild_id's connection and delete its tokens; returns what was connected (None: nothing)."""
        async with self._changing:
            await stored.delete_connected_account(self._conn, guild_id)
            old = self._connections.pop(guild_id, None)
        if old is None:
            return None
        await self._retire(old)
        return old.serving()

    async def _retire(self, connection: _Connection) -> None:
        # Its late rotations find no row of theirs (save_rotated_tokens checks the connection).
        with contextlib.suppress(Exception):
            await connection.auth.aclose()

    async def close(self) -> None:
        """Stop following the store and every connection's background saves (an unsaved rotated token
        gets one last attempt)."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        await self._budget_ledger.close()
        for connection in list(self._connections.values()):
            await self._retire(connection)
