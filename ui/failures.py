"""Turn any failure of a /likes answer into one plain sentence for the user (and a log line if unexpected)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from ui.account_handles import known_handle, serving_handle
from ui.error_messages import APOLOGY, message_for
from ui.respond import answer_error
from xapi import errors

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.ui")

# Short: the handle only decorates a sentence, it must not hold the answer up.
HANDLE_LOOKUP_SECONDS = 2.0


async def connected_handle(bot: LikesBot, guild_id: int | None) -> str | None:
    """The username of the X account serving guild_id (known, or cached by its client), or None."""
    return await serving_handle(bot, guild_id, deadline=HANDLE_LOOKUP_SECONDS)


async def sentence_for(bot: LikesBot, error: BaseException, guild_id: int | None = None) -> str:
    """What the user reads for error in guild_id; anything not an X error is logged with its traceback."""
    if isinstance(error, errors.AccountRefusal):
        # Refused locally (no account, one X no longer accepts, the daily cap): its own sentence.
        return error.message
    if isinstance(error, errors.XApiError):
        log.info("X refused or failed (%s on %s): %s", type(error).__name__, error.endpoint, error.message)
        # Only the "private likes" sentence costs a request to name the account; bad input costs none.
        handle: str | None = None
        if isinstance(error, errors.NotAuthorizedForResource):
            handle = await connected_handle(bot, guild_id)
        elif isinstance(error, errors.InvalidReference):
            handle = known_handle(bot, guild_id)
        return message_for(error, handle=handle)
    log.error("Unexpected failure while answering", exc_info=error)
    return APOLOGY


async def report_failure(bot: LikesBot, interaction: discord.Interaction, error: BaseException) -> None:
    """Answer the interaction with the sentence for error, whatever state the interaction is in."""
    sentence = await sentence_for(bot, error, interaction.guild_id)
    try:
        await answer_error(interaction, sentence)
    except discord.HTTPException:
        log.exception("Could not tell the user about a failure")
