"""The handle of the X account serving a server, for the sentences that name it.

A connected account's handle is stored with its connection. The configured account's is known
once X has answered /2/users/me for it here (`serving_handle` asks, and `learn` records what other
lookups read): a refusal of bad input words its example with `known_handle`, which never asks X,
because such a refusal answers at once and sends nothing to X. Under --sandbox the account is the
sandbox's own, so its handle is the sandbox's; nowhere else is it named.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import TYPE_CHECKING

from xapi import errors
from xapi.client import XClient

if TYPE_CHECKING:
    from bot import LikesBot

# The handles X gave for each account's client (a client is one account; gone with it).
_learned: weakref.WeakKeyDictionary[XClient, str] = weakref.WeakKeyDictionary()


def learn(client: XClient, handle: str) -> None:
    """Remember that client's account is @handle (what its /2/users/me said)."""
    if handle:
        _learned[client] = handle


def known_handle(bot: LikesBot, guild_id: int | None) -> str | None:
    """The serving account's handle if known without asking X; None when not (or no account serves)."""
    account = bot.accounts.serving(guild_id)
    if account is None:
        return None
    if account.handle:
        return account.handle
    learned = _learned.get(account.client)
    if learned is None and account.how == "sandbox":
        from xapi.sandbox.data import OWNER_USERNAME  # noqa: PLC0415 (only --sandbox runs load the sandbox)

        return OWNER_USERNAME
    return learned


async def serving_handle(bot: LikesBot, guild_id: int | None, *, deadline: float) -> str | None:
    """The serving account's handle, asking X (/2/users/me, cached by the client) when not known."""
    known = known_handle(bot, guild_id)
    account = bot.accounts.serving(guild_id)
    if known is not None or account is None:
        return known
    with contextlib.suppress(errors.XApiError):
        me = await account.client.me(deadline=deadline)
        learn(account.client, me.username)
        return me.username
    return None
