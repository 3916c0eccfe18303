"""GET /metrics on what scale-out needs: the live-likes stream (connected here, and how long since
the deployment's stream was last alive) and the digests due and late counted on PostgreSQL too."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bot import LikesBot
from store import digests
from tests import engines, postgres
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e.digest_support import SettableClock, until
from tests.e2e.test_live_feed import clock, dbot, driver, feed_of, start_live, x
from tests.emulator import DiscordEmulator
from tests.web.test_metrics import samples, scrape, value
from xapi.sandbox import XSandbox

__all__ = ["clock", "dbot", "driver", "x"]  # the live tests' fixtures, used here by name


async def test_the_stream_is_shown_connected_then_down_with_its_lag_growing(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    before = samples((await scrape(dbot))[1])
    assert value(before, "likelens_live_stream_connected") == 0
    assert not any(name == "likelens_live_stream_lag_seconds" for name, _ in before)

    await start_live(dbot, driver, emulator)
    found = samples((await scrape(dbot))[1])
    assert value(found, "likelens_live_stream_connected") == 1
    assert value(found, "likelens_live_stream_lag_seconds") == 0  # the test's clock stands still

    x.streams.streams_down = True
    x.drop_streams()
    stream = feed_of(dbot).stream
    await until(lambda: not stream.connected.is_set(), "the stream to drop")
    clock.advance(minutes=10)
    found = samples((await scrape(dbot))[1])
    assert value(found, "likelens_live_stream_connected") == 0
    assert value(found, "likelens_live_stream_lag_seconds") == 600


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
async def test_digests_due_and_late_are_counted_on_either_engine(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, engine: str,
) -> None:
    if engine == "postgresql":
        postgres.require_server()
    with engines.postgres_schema() if engine == "postgresql" else contextlib.nullcontext():
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        # No cogs: no scheduler runs the due digests while the test counts them.
        async with running_bot(emulator, settings, extensions=()) as bot:
            assert (bot.store.conn.dialect == "postgresql") == (engine == "postgresql")
            now = bot.clock().timestamp()
            channel = int(emulator.channel("digests").id)
            for subject, due in (("1", now + 3600), ("2", now - 60), ("3", now - 600), ("4", now - 7200)):
                digest = await digests.add_digest(
                    bot.store.conn, guild_id=int(emulator.guild.id), channel_id=channel, creator_id=1,
                    subject_kind="post", subject_id=subject, every_seconds=3600, now=now,
                )
                await digests.set_schedule(bot.store.conn, digest.id, next_run_at=due)
            found = samples((await scrape(bot))[1])
    assert value(found, "likelens_digests_due") == 3
    assert value(found, "likelens_digests_late") == 2

