"""bot.accounts across two bot processes on one database: a connection one process made is taken up by
the other, and X's single-use refresh tokens rotated by one process never make the other mark the
connection refused.

Two real LikesBots (shards 0 and 1 of 2) on the Discord emulator, the X sandbox's OAuth 2.0 code
flow over HTTP, real SQLite file or PostgreSQL schema (both engines).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from bot import LikesBot
from tests.accounts_support import accounts_bot, connect_sandbox_account
from tests.e2e.digest_support import SettableClock
from tests.emulator import DiscordEmulator
from tests.engines import committed_rows
from xapi.sandbox import XSandbox


@contextlib.asynccontextmanager
async def two_processes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, database: Path, clock: SettableClock,
) -> AsyncIterator[tuple[LikesBot, LikesBot]]:
    async with accounts_bot(emulator, x_sandbox, database, clock=clock, shard_id=0, shard_count=2) as first, \
            accounts_bot(emulator, x_sandbox, database, clock=clock, shard_id=1, shard_count=2) as second:
        yield first, second


def connected_handle(bot: LikesBot, guild_id: int) -> str | None:
    """The handle of the account guild_id connected, or None (the configured account does not count)."""
    serving = bot.accounts.serving(guild_id)
    return serving.handle if serving is not None and serving.how == "connected" else None


async def test_a_connection_made_by_one_process_is_taken_up_by_the_other_and_so_is_its_removal(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    guild_id = int(emulator.add_guild("Shard Zero Server", shard=(0, 2)).id)
    database = tmp_path / "likelens.db"
    async with two_processes(emulator, x_sandbox, database, SettableClock()) as (first, second):
        await connect_sandbox_account(first, x_sandbox, guild_id)
        assert connected_handle(second, guild_id) is None
        await second.accounts.refresh()
        serving = second.accounts.serving(guild_id)
        assert serving is not None and (serving.how, serving.handle) == ("connected", "maple_guild")
        assert (await second.accounts.x_for(guild_id).me()).username == "maple_guild"
        await first.accounts.disconnect(guild_id)
        await second.accounts.refresh()
        assert connected_handle(second, guild_id) is None


async def test_tokens_one_process_rotated_are_taken_up_by_the_other_instead_of_a_reconnect(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    guild_id = int(emulator.add_guild("Shard Zero Server", shard=(0, 2)).id)
    clock = SettableClock()
    async with two_processes(emulator, x_sandbox, tmp_path / "likelens.db", clock) as (first, second):
        await connect_sandbox_account(first, x_sandbox, guild_id)
        await second.accounts.refresh()
        for turn in range(3):
            # The access tokens expire: each process refreshes in turn, spending the refresh token.
            clock.advance(hours=3)
            for bot in (first, second) if turn % 2 == 0 else (second, first):
                assert (await bot.accounts.x_for(guild_id).me()).username == "maple_guild"
                serving = bot.accounts.serving(guild_id)
                assert serving is not None and serving.needs_reconnect is None
        rows = await committed_rows(
            tmp_path, "SELECT needs_reconnect FROM connected_accounts WHERE guild_id = ?", (guild_id,))
        assert rows == [(None,)]
