"""The one way LikeLens answers an interaction, whatever state it is in: never a double response."""

from __future__ import annotations

from typing import Any

import discord

from ui.text import clip

NO_MENTIONS = discord.AllowedMentions.none()
CONTENT_LIMIT = 2000


def _is_component(interaction: discord.Interaction) -> bool:
    return interaction.type is discord.InteractionType.component


async def answer(
    interaction: discord.Interaction, *, content: str | None = None, embed: discord.Embed | None = None,
    view: discord.ui.View | None = None, file: discord.File | None = None, ephemeral: bool = True,
) -> None:
    """Show the answer: send it if nothing was sent yet, else edit the (deferred) original response.

    The edit replaces everything: text, embed, buttons and attachments not given are removed.
    """
    text = clip(content, CONTENT_LIMIT) if content else None
    if not interaction.response.is_done():
        kwargs: dict[str, Any] = {"ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if embed is not None:
            kwargs["embed"] = embed
        if view is not None:
            kwargs["view"] = view
        if file is not None:
            kwargs["file"] = file
        await interaction.response.send_message(text, **kwargs)
        return
    await interaction.edit_original_response(
        content=text, embeds=[embed] if embed is not None else [], view=view,
        attachments=[file] if file is not None else [], allowed_mentions=NO_MENTIONS,
    )


async def update_clicked(
    interaction: discord.Interaction, *, embed: discord.Embed, view: discord.ui.View | None,
) -> None:
    """Show the clicked message's new state: in the click's own response if not yet acknowledged (one
    request to Discord), else by editing the message the deferred click points at."""
    if interaction.response.is_done():
        await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_MENTIONS)


async def answer_error(interaction: discord.Interaction, sentence: str) -> None:
    """Tell the user what went wrong: replaces a command's answer; a click gets its own ephemeral note."""
    text = clip(sentence, CONTENT_LIMIT)
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    elif interaction.response.type is discord.InteractionResponseType.deferred_message_update:
        # The clicked message (a paginator) stays as it was; the error is for the clicker only.
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await answer(interaction, content=text)


async def defer(interaction: discord.Interaction, *, ephemeral: bool = True, update: bool = False) -> None:
    """Acknowledge now (Discord's 3 s deadline), before any X call; a no-op when already answered.

    update=True (a click that will edit the clicked message) defers an update; otherwise the
    answer is a new message, shown as "thinking…" until it is edited.
    """
    if interaction.response.is_done():
        return
    if update and _is_component(interaction):
        await interaction.response.defer()
    else:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
