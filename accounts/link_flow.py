"""/link's callback: who the member is on X, linked to their Discord account in one server.

The member's grant (scopes `tweet.read users.read`) is used for one thing: GET /2/users/me, which
accounts.oauth_callback.finish_authorization has already read. Then the link is stored (X id and
handle, for that server) and the grant is revoked at X whatever happened: LikeLens keeps no token
of a member's. An X account another member of the server holds is refused (who holds it is not said).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from accounts.oauth_callback import CompletedAuthorization, revoke_quietly
from accounts.oauth_flow import OAuthClientConfig
from store.member_links import XAccountLinkedToAnotherMember

log = logging.getLogger(__name__)


class MemberLinkStore(Protocol):
    """store.member_links.MemberLinks as the link flow uses it."""

    async def link(
        self, guild_id: int, member_id: int, *, x_user_id: str, handle: str, now: float,
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class Linked:
    """A finished /link: which X account, for which member of which server, or why it was refused."""

    guild_id: int
    member_id: int
    x_user_id: str
    handle: str
    interaction_token: str | None
    # True when another member of the server holds this X account: nothing was linked.
    refused: bool


async def complete_link(
    done: CompletedAuthorization, *, links: MemberLinkStore, session: aiohttp.ClientSession,
    config: OAuthClientConfig, now: float,
) -> Linked:
    """Link done's member to the X account that approved; the grant is revoked at X in every case."""
    pending, account = done.pending, done.account
    try:
        await links.link(pending.guild_id, pending.member_id, x_user_id=account.id,
                         handle=account.username, now=now)
        refused = False
    except XAccountLinkedToAnotherMember:
        refused = True
    finally:
        # Nothing of the member's token is kept, here or at X.
        await revoke_quietly(session, config, done.grant)
    log.info("Server %s: a member %s an X account", pending.guild_id,
             "was refused linking" if refused else "linked")
    return Linked(pending.guild_id, pending.member_id, account.id, account.username,
                  pending.interaction_token, refused)
