"""The gate in front of every lookup: a server the account rule refuses gets its one sentence.

`AccountCheckedTree` checks each /likes and /digest interaction (autocomplete included) before
discord.py runs the command; the paginator and digest buttons call `admit` themselves through the
bot. Nothing is sent to X for a refused interaction.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import discord
from discord import app_commands

from accounts.rule import refusal_sentence

# The command groups that read X or manage what reads it; /x stays open, so an unserved server can connect.
CHECKED_GROUPS = frozenset({"likes", "digest"})


class AccountRuled(Protocol):
    """The bot as the gate sees it."""

    def account_serves(self, guild_id: int | None) -> bool: ...


async def admit(interaction: discord.Interaction[Any]) -> bool:
    """True when an X account serves interaction's server; else answer the refusal and return False."""
    if cast("AccountRuled", interaction.client).account_serves(interaction.guild_id):
        return True
    if interaction.type is discord.InteractionType.autocomplete:
        # Discord shows an error under the option for an autocomplete left unanswered.
        await interaction.response.autocomplete([])
    else:
        await interaction.response.send_message(
            refusal_sentence(interaction.guild_id), ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )
    return False


class AccountCheckedTree(app_commands.CommandTree[Any]):
    """A command tree that lets /likes and /digest run only where an X account serves the server."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        data = cast("dict[str, Any]", interaction.data or {})
        if data.get("name") not in CHECKED_GROUPS:
            return True
        return await admit(interaction)
