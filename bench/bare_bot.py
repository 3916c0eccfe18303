"""The baseline bot: plain discord.py; /ping only defers, /pager shows buttons that only defer.

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


class BareBot(commands.Bot):
    """A plain discord.py bot: /ping only defers, /pager sends BarePagerView; syncs its tree at start."""

    def __init__(self, *, announce_ready: bool = False, **options: Any) -> None:
        self.announce_ready = announce_ready
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.none(),
                         help_command=None, **options)

        @self.tree.command(name="ping", description="Only defers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)

        @self.tree.command(name="pager", description="A message with buttons that only defer")
        async def pager(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("page", view=BarePagerView(), ephemeral=True)

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
