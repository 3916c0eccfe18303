"""/x connect and /x disconnect: what happens between the command, X's consent page and the callback.

`start` saves the state (purpose connect, server, member, PKCE verifier, the interaction token so
the callback can edit the ephemeral answer) and gives the consent-page URL. `complete` runs the
shared callback steps (accounts.oauth_callback), stores the account through the registry, and when
it replaced another account revokes the old token at X and pauses the server's digests with the
reason. A state saved by `start_link` (purpose link, /link) is finished by accounts.link_flow
instead: the member linked, the grant revoked, no token kept.
`disconnect` revokes at X, forgets the tokens and pauses the digests. Each failure is an
OAuthFlowError whose message is one sentence for a person; nothing is stored then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from accounts import oauth_flow
from accounts.link_flow import Linked, MemberLinkStore, complete_link
from accounts.oauth_callback import finish_authorization, revoke_quietly
from accounts.oauth_flow import (
    CONNECT_SCOPES,
    LINK_SCOPES,
    AuthorizationFailed,
    CallbackQuery,
    OAuthClientConfig,
    OAuthFlowError,
    TokenGrant,
    XAccount,
)
from store import digests as digest_store
from store.engine import Database
from store.oauth_states import OAuthStates

log = logging.getLogger(__name__)


class ConnectedAccounts(Protocol):
    """The registry (accounts/registry.py) as the connect flow uses it."""

    async def connect(
        self, guild_id: int, *, member_id: int, account: XAccount, grant: TokenGrant, now: float,
    ) -> Any: ...

    async def disconnect(self, guild_id: int) -> Any: ...


def changed_reason(handle: str) -> str:
    """Why a server's digests were paused when another account replaced its own."""
    return f"the server's X account changed to @{handle}"


def disconnected_reason(handle: str | None) -> str:
    """Why a server's digests were paused by /x disconnect."""
    return f"the server's X account @{handle} was disconnected" if handle else (
        "the server's X account was disconnected")


@dataclass(frozen=True, slots=True)
class Connected:
    """A finished /x connect: which account now serves which server, and what it replaced."""

    guild_id: int
    member_id: int
    account: XAccount
    interaction_token: str | None
    replaced_handle: str | None
    paused_digests: int
    # Seconds from the callback's arrival to the tokens stored (the figure of the closing note).
    seconds_to_store: float


@dataclass(frozen=True, slots=True)
class Disconnected:
    """A finished /x disconnect."""

    handle: str | None
    revoked: bool
    paused_digests: int


class ConnectFlow:
    """The connect flow of one bot: its state store, X's OAuth 2.0 client and the account registry."""

    def __init__(
        self, *, conn: Database, states: OAuthStates, session: aiohttp.ClientSession,
        config: OAuthClientConfig, accounts: ConnectedAccounts, clock: Callable[[], float],
        links: MemberLinkStore | None = None,
    ) -> None:
        self.conn = conn
        self.states = states
        self.session = session
        self.config = config
        self.accounts = accounts
        self.clock = clock
        self.links = links

    async def start(self, *, guild_id: int, member_id: int, interaction_token: str) -> str:
        """Save a new state for guild_id and member_id; the consent-page URL of the link button."""
        request = oauth_flow.authorization_request(self.config, CONNECT_SCOPES)
        await self.states.save(
            request.state, purpose="connect", guild_id=guild_id, member_id=member_id,
            code_verifier=request.code_verifier, now=self.clock(), interaction_token=interaction_token,
        )
        return request.url

    async def start_link(self, *, guild_id: int, member_id: int, interaction_token: str) -> str:
        """/link: save a state (purpose link, scopes tweet.read users.read only); the consent-page URL."""
        request = oauth_flow.authorization_request(self.config, LINK_SCOPES)
        await self.states.save(
            request.state, purpose="link", guild_id=guild_id, member_id=member_id,
            code_verifier=request.code_verifier, now=self.clock(), interaction_token=interaction_token,
        )
        return request.url

    async def complete(self, query: CallbackQuery) -> Connected | Linked:
        """Finish the authorization X sent the browser back with (by the state's purpose: /x connect's
        or /link's); OAuthFlowError says why not."""
        arrived = time.perf_counter()
        done = await finish_authorization(
            query, states=self.states, session=self.session, config=self.config, now=self.clock(),
        )
        pending, account, grant = done.pending, done.account, done.grant
        if pending.purpose == "link":
            if self.links is None:
                await revoke_quietly(self.session, self.config, grant)
                raise AuthorizationFailed("Linking X accounts is not set up here, so nothing was linked.")
            return await complete_link(done, links=self.links, session=self.session, config=self.config,
                                       now=self.clock())
        try:
            replaced = await self.accounts.connect(
                pending.guild_id, member_id=pending.member_id, account=account, grant=grant, now=self.clock(),
            )
        except Exception:
            # Nothing stored: X's new tokens must not outlive the failure.
            await revoke_quietly(self.session, self.config, grant)
            raise
        stored = time.perf_counter()
        replaced_handle, paused = None, 0
        if replaced is not None and getattr(replaced, "x_user_id", None) != account.id:
            replaced_handle = getattr(replaced, "handle", None)
            await self._revoke_old(replaced)
            paused = await pause_guild_digests(self.conn, pending.guild_id, changed_reason(account.username))
        log.info("Server %s connected an X account (%d digests paused)", pending.guild_id, paused)
        return Connected(pending.guild_id, pending.member_id, account, pending.interaction_token,
                         replaced_handle, paused, stored - arrived)

    async def disconnect(self, guild_id: int) -> Disconnected | None:
        """Revoke the server's account at X, forget its tokens, pause its digests; None: none connected."""
        removed = await self.accounts.disconnect(guild_id)
        if removed is None:
            return None
        handle = getattr(removed, "handle", None)
        revoked = await self._revoke_old(removed)
        paused = await pause_guild_digests(self.conn, guild_id, disconnected_reason(handle))
        log.info("Server %s disconnected its X account (%d digests paused)", guild_id, paused)
        return Disconnected(handle, revoked, paused)

    async def _revoke_old(self, old: Any) -> bool:
        """Revoke a replaced or disconnected account's refresh token at X, then its access token (it
        would stay valid for up to two hours); False when X could not revoke the refresh token."""
        token = old.refresh_token() if callable(getattr(old, "refresh_token", None)) else None
        if not token:
            return False
        try:
            await oauth_flow.revoke(self.session, self.config, token, "refresh_token")
        except OAuthFlowError as error:
            log.warning("could not revoke a replaced X refresh token: %s", error.message)
            return False
        access = old.access_token() if callable(getattr(old, "access_token", None)) else None
        if access:
            try:
                await oauth_flow.revoke(self.session, self.config, access, "access_token")
            except OAuthFlowError as error:
                log.warning("could not revoke a replaced X access token (it expires by itself): %s",
                            error.message)
        return True


async def pause_guild_digests(conn: Database, guild_id: int, reason: str) -> int:
    """Pause the server's active digests with reason (they read from an account no longer its own)."""
    active = [d for d in await digest_store.guild_digests(conn, guild_id) if d.state == "active"]
    for digest in active:
        await digest_store.set_state(conn, digest.id, "paused", reason=reason, next_run_at=None)
    return len(active)
