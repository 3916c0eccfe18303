"""The answer of a command whose feature has not landed yet (its issue replaces the call)."""

from __future__ import annotations

import discord

NOT_AVAILABLE_YET = "This command is not available yet."


async def answer_not_available_yet(interaction: discord.Interaction) -> None:
    """Answer ephemerally that the command exists but does nothing yet."""
    await interaction.response.send_message(
        NOT_AVAILABLE_YET, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
    )
