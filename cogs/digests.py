"""/digest: scheduled posts of new likes to a channel: the command tree only.

The names, options, choices, descriptions and permissions below are the interface contract. Each
command delegates to the `digest_*` function of the same name in digests/commands.py; the
scheduler loop (digests/scheduler.py) starts in `cog_load`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.post_choices import subject_autocomplete
from digests import browsing
from digests.commands import (
    digest_add,
    digest_choices,
    digest_list,
    digest_pause,
    digest_remove,
    digest_resume,
    digest_run,
)
from digests.live_feed import LiveFeed
from digests.scheduler import DigestScheduler
from ui.digest_browse import DigestBrowseButton, browse_view, handle_clicks_with
from ui.failures import report_failure

if TYPE_CHECKING:
    from bot import LikesBot

EVERY_CHOICES = [app_commands.Choice(name=value, value=value) for value in ("1h", "6h", "12h", "24h", "live")]


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
        self.scheduler = DigestScheduler(
            bot, view_for=lambda d, run: browse_view(d.id, d.subject_kind, d.subject_id, run.item_ids)
        )

    async def cog_load(self) -> None:
        # Browse buttons of digests posted before a restart keep working.
        handle_clicks_with(browsing.browse)
        self.bot.add_dynamic_items(DigestBrowseButton)
        self.scheduler.start()
        # Live digests: the activity stream, started now if any exists (else when the first is added).
        self.live = LiveFeed(self.bot)
        await self.live.start()

    async def cog_unload(self) -> None:
        await self.live.stop()
        await self.scheduler.stop()
        self.bot.remove_dynamic_items(DigestBrowseButton)

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        # As /likes: X's refusals become one plain sentence; anything else is logged, with an apology.
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report_failure(self.bot, interaction, cause)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.scheduler.guild_left(guild.id)

    async def _digest_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await digest_choices(self.bot, interaction, current)

    @digest.command(name="add", description="Post new likes to a channel on a schedule")
    @app_commands.describe(
        subject="A post URL or id, `liked` (posts the account likes) or `recent` (the account's new posts)",
        channel="The channel the digest is posted to",
        every="How often to post (live: each new like within seconds)",
    )
    @app_commands.choices(every=EVERY_CHOICES)
    @app_commands.autocomplete(subject=subject_autocomplete)
    async def add(
        self, interaction: discord.Interaction, subject: str, channel: discord.TextChannel,
        every: app_commands.Choice[str],
    ) -> None:
        await digest_add(self.bot, interaction, subject=subject, channel=channel, every=every.value,
                         live=self.live)

    @digest.command(name="list", description="This server's digests")
    async def list_(self, interaction: discord.Interaction) -> None:
        await digest_list(self.bot, interaction)

    @digest.command(name="remove", description="Delete a digest")
    @app_commands.describe(digest=DIGEST_DESCRIPTION)
    @app_commands.autocomplete(digest=_digest_autocomplete)
    async def remove(self, interaction: discord.Interaction, digest: app_commands.Range[int, 1]) -> None:
        await digest_remove(self.bot, interaction, digest=digest, live=self.live)

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
        await digest_run(self.bot, self.scheduler, interaction, digest=digest)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(DigestsCog(bot))
