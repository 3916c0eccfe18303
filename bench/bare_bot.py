"""The baseline bot: plain discord.py, one slash command /ping that only defers.

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


class BareBot(commands.Bot):
    """A plain discord.py bot whose one slash command /ping only defers; syncs its tree at start."""

    def __init__(self, *, announce_ready: bool = False, **options: Any) -> None:
        self.announce_ready = announce_ready
        super().__init__(command_prefix=commands.when_mentioned, intents=discord.Intents.none(),
                         help_command=None, **options)

        @self.tree.command(name="ping", description="Only defers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)

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
