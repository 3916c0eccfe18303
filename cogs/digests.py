"""/digest: scheduled posts of new likes to a channel.

The command tree below is final (names, options, choices, descriptions, permissions). Each
command's body delegates to the `digest_*` function of the same name: the digest issue fills those
in (and adds the scheduler loop, started in `cog_load`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.placeholder import answer_not_available_yet

if TYPE_CHECKING:
    from bot import LikesBot

# `every:` values; the digest issue maps them to intervals.
EVERY_CHOICES = [app_commands.Choice(name=value, value=value) for value in ("1h", "6h", "12h", "24h")]


async def digest_add(
    bot: LikesBot, interaction: discord.Interaction, *, subject: str, channel: discord.TextChannel, every: str
) -> None:
    await answer_not_available_yet(interaction)


async def digest_list(bot: LikesBot, interaction: discord.Interaction) -> None:
    await answer_not_available_yet(interaction)


async def digest_remove(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    await answer_not_available_yet(interaction)


async def digest_pause(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    await answer_not_available_yet(interaction)


async def digest_resume(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    await answer_not_available_yet(interaction)


async def digest_run(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    await answer_not_available_yet(interaction)


async def digest_choices(
    bot: LikesBot, interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[int]]:
    """Autocomplete of `digest:` (this guild's digests); none until the digest issue lands."""
    return []


DIGEST_DESCRIPTION = "The digest's id (see /digest list)"


class DigestsCog(commands.Cog):
    """The /digest command group."""

    digest = app_commands.Group(
        name="digest",
        description="Scheduled digests of new likes posted to a channel",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot

    async def _digest_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await digest_choices(self.bot, interaction, current)

    @digest.command(name="add", description="Post new likes to a channel on a schedule")
    @app_commands.describe(
        subject="A post URL or id, `liked` (posts the account likes) or `recent` (the account's new posts)",
        channel="The channel the digest is posted to",
        every="How often to post",
    )
    @app_commands.choices(every=EVERY_CHOICES)
    async def add(
        self, interaction: discord.Interaction, subject: str, channel: discord.TextChannel,
        every: app_commands.Choice[str],
    ) -> None:
        await digest_add(self.bot, interaction, subject=subject, channel=channel, every=every.value)

    @digest.command(name="list", description="This server's digests")
    async def list_(self, interaction: discord.Interaction) -> None:
        await digest_list(self.bot, interaction)

    @digest.command(name="remove", description="Delete a digest")
    @app_commands.describe(digest=DIGEST_DESCRIPTION)
    @app_commands.autocomplete(digest=_digest_autocomplete)
    async def remove(self, interaction: discord.Interaction, digest: app_commands.Range[int, 1]) -> None:
        await digest_remove(self.bot, interaction, digest=digest)

    @digest.command(name="pause", description="Stop posting a digest (keeps its settings)")
    @app_commands.describe(digest=DIGEST_DESCRIPTION)
    @app_commands.autocomplete(digest=_digest_autocomplete)
    async def pause(self, interaction: discord.Interaction, digest: app_commands.Range[int, 1]) -> None:
        await digest_pause(self.bot, interaction, digest=digest)

    @digest.command(name="resume", description="Start posting a paused digest again")
    @app_commands.describe(digest=DIGEST_DESCRIPTION)
    @app_commands.autocomplete(digest=_digest_autocomplete)
    async def resume(self, interaction: discord.Interaction, digest: app_commands.Range[int, 1]) -> None:
        await digest_resume(self.bot, interaction, digest=digest)

    @digest.command(name="run", description="Post a digest now")
    @app_commands.describe(digest=DIGEST_DESCRIPTION)
    @app_commands.autocomplete(digest=_digest_autocomplete)
    async def run(self, interaction: discord.Interaction, digest: app_commands.Range[int, 1]) -> None:
        await digest_run(self.bot, interaction, digest=digest)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(DigestsCog(bot))
