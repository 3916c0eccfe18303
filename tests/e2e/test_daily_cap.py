"""X_DAILY_ITEMS_PER_SERVER: a server's reads per UTC day are capped, refused locally, kept in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.accounts_support import accounts_bot, connect_sandbox_account, run_in
from tests.e2e.digest_support import SettableClock, sandbox_on
from tests.emulator import DiscordEmulator
from xapi.sandbox.community import COMMUNITY_MAPLE

MAPLE_POST = COMMUNITY_MAPLE.post_ids[0]


def next_midnight(now: datetime) -> int:
    return int((now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).timestamp())


async def test_a_cap_of_15_lets_a_lookup_of_10_likers_pass_refuses_the_next_and_resets_at_utc_midnight(
    tmp_path: Path,
) -> None:
    clock = SettableClock()
    # Early in a UTC day, so the minutes the test moves stay within it.
    clock.now = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    database = tmp_path / "likelens.db"
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        x.add_likers(MAPLE_POST, 4)  # 10 likers
        async with accounts_bot(emulator, x, database, clock=clock, x_daily_items_per_server=15) as bot:
            await connect_sandbox_account(bot, x, guild.id)
            first = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert first.embeds, first.content
            status = await run_in(emulator, guild, "likes status")
            today = status.embed["fields"][1]["value"].splitlines()
            assert today[-1].startswith("Read today: ") and today[-1].endswith(" of 15 items")
            read = int(today[-1].split()[2])
            assert 10 < read <= 15, read
            # Past the cache's minute: the same lookup would read X again, and pass the cap.
            clock.advance(minutes=5)
            asked = len(x.requests)
            refused = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert refused.content == (
                "This server has read its 15 X items for today (the operator's X_DAILY_ITEMS_PER_SERVER): "
                f"lookups work again <t:{next_midnight(clock.now)}:R>."
            )
            assert not refused.embeds and len(x.requests) == asked
        # The count is in the store: a restart does not reset it.
        async with accounts_bot(emulator, x, database, clock=clock, x_daily_items_per_server=15) as bot:
            refused = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert refused.content.startswith("This server has read its 15 X items for today")
            assert len(x.requests) == asked
            clock.now = datetime.fromtimestamp(next_midnight(clock.now), UTC) + timedelta(seconds=1)
            again = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert again.embeds, again.content
            assert len(x.requests) > asked


async def test_a_lookup_whose_likers_would_pass_the_cap_is_refused_before_its_first_request(
    tmp_path: Path,
) -> None:
    # Cap 20: the first lookup reads 15 items (post and author, account, 10 likers, 2 pinned posts);
    # the same lookup again would read 15 more, so it is refused before even the post is asked for.
    clock = SettableClock()
    clock.now = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        x.add_likers(MAPLE_POST, 4)
        async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock,
                                x_daily_items_per_server=20) as bot:
            await connect_sandbox_account(bot, x, guild.id)
            assert (await run_in(emulator, guild, "likes post", post=MAPLE_POST)).embeds
            clock.advance(minutes=5)
            asked = len(x.requests)
            refused = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert refused.content.startswith("This server has read its 20 X items for today")
            assert len(x.requests) == asked


async def test_digests_count_against_the_cap_and_wait_for_the_next_utc_day_once_it_is_reached(
    tmp_path: Path,
) -> None:
    from store import digests as digest_store  # noqa: PLC0415
    from tests.e2e.digest_support import scheduler_of  # noqa: PLC0415

    clock = SettableClock()
    clock.now = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        x.add_likers(MAPLE_POST, 4)
        async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock,
                                x_daily_items_per_server=12) as bot:
            await scheduler_of(bot).stop()
            await connect_sandbox_account(bot, x, guild.id)
            added = await run_in(emulator, guild, "digest add", subject=MAPLE_POST, channel="digests",
                                 every="1h")
            assert "created" in added.content, added.content
            clock.advance(minutes=1)
            first = await scheduler_of(bot).tick()
            assert [o.status for o in first.outcomes.values()] == ["baseline"]
            status = await run_in(emulator, guild, "likes status")
            read = status.embed["fields"][1]["value"].splitlines()[-1]
            assert read.startswith("Read today: ") and int(read.split()[2]) >= 12, read
            clock.advance(hours=2)
            asked = len(x.requests)
            capped = await scheduler_of(bot).tick()
            assert [o.status for o in capped.outcomes.values()] == ["skipped"], capped
            assert len(x.requests) == asked
            digest = await digest_store.get_digest(bot.store.conn, 1)
            assert digest is not None and digest.state == "active"
            assert digest.next_run_at == next_midnight(clock.now)
            clock.now = datetime.fromtimestamp(next_midnight(clock.now), UTC) + timedelta(seconds=1)
            later = await scheduler_of(bot).tick()
            assert [o.status for o in later.outcomes.values()] == ["nothing_new"], later
