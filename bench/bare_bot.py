"""The baseline bot: plain discord.py; /ping only defers, /pager shows buttons that only defer;
with page_embed, /page shows that embed under buttons that show it again (edit_message, type 7).

Benchmarks run it in process (bench.harness.bare_world) or as a process for startup timing:
DISCORD_TOKEN=… python -m bench.bare_bot (prints "Ready as …" to stderr on READY).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import discord
from discord.ext import commands


class BarePagerView(discord.ui.View):
    """A message's Previous/Next buttons whose clicks only defer the update (the floor of a click)."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Previous", custom_id="bare:previous")
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[BarePagerView]
    ) -> None:
        await interaction.response.defer()

    @discord.ui.button(label="Next", custom_id="bare:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[BarePagerView]) -> None:
        await interaction.response.defer()


class BarePageView(discord.ui.View):
    """Previous/Next whose clicks show the same embed again in their own response: what plain discord.py
    does for a paginator's click whose page is ready (the floor of a click that carries a page)."""

    def __init__(self, embed: discord.Embed) -> None:
        super().__init__(timeout=None)
        self.embed = embed

    @discord.ui.button(label="Previous", custom_id="bare:page-previous")
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[BarePageView]
    ) -> None:
        await interaction.response.edit_message(embed=self.embed, view=self,
                                                allowed_mentions=discord.AllowedMentions.none())

    @discord.ui.button(label="Next", custom_id="bare:page-next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[BarePageView]) -> None:
        await interaction.response.edit_message(embed=self.embed, view=self,
                                                allowed_mentions=discord.AllowedMentions.none())


class BareBot(commands.Bot):
    """A plain discord.py bot: /ping only defers, /pager sends BarePagerView (and, given page_embed,
    /page sends it with BarePageView); syncs its tree at start."""

    def __init__(
        self, *, announce_ready: bool = False, page_embed: discord.Embed | None = None, **options: Any,
    ) -> None:
        self.announce_ready = announce_ready
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.none(),
                         help_command=None, **options)

        @self.tree.command(name="ping", description="Only defers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)

        @self.tree.command(name="pager", description="A message with buttons that only defer")
        async def pager(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("page", view=BarePagerView(), ephemeral=True)

        if page_embed is not None:
            @self.tree.command(name="page", description="A page-sized embed under buttons that show it again")
            async def page(interaction: discord.Interaction) -> None:
                await interaction.response.send_message(embed=page_embed, view=BarePageView(page_embed),
                                                        ephemeral=True,
                                                        allowed_mentions=discord.AllowedMentions.none())

    async def setup_hook(self) -> None:
        await self.tree.sync()

    async def on_ready(self) -> None:
        if self.announce_ready:
            print(f"Ready as {self.user}", file=sys.stderr, flush=True)


async def _run(token: str) -> None:
    async with BareBot(announce_ready=True) as bot:
        await bot.start(token)


def main() -> None:
    asyncio.run(_run(os.environ["DISCORD_TOKEN"]))


if __name__ == "__main__":
    main()
