"""Digest delivery end to end: no duplicate after a crash or a restart, runs racing each other,
messages Discord refuses for good."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    CALLBACKS,
    MESSAGES,
    POST,
    SettableClock,
    add,
    digest_bot,
    posted,
    scheduler_of,
    until,
)
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

# The digest tests' shared fixtures and names (digest_support.x is the sandbox dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


async def test_a_restart_between_send_and_record_posts_no_duplicate(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        await add(InteractionDriver(emulator))
        await scheduler_of(first).tick()
        x.add_likers(POST, 2)
        clock.advance(hours=6)
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(first).tick())
        await emulator.wait_until(lambda: len(posted(emulator)) == 2, what="the digest to reach Discord")
        # The bot dies after Discord accepted the message and before it recorded the delivery.
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    release.set()
    async with digest_bot(emulator, x, database, clock) as second:
        report = await scheduler_of(second).tick()
        assert report.outcomes[1].status == "posted"
        first_try, retry = emulator.requests_to(*MESSAGES)[-2:]
        assert retry.json["nonce"] == first_try.json["nonce"]
        assert len(posted(emulator)) == 2
        clock.advance(hours=6)
        await scheduler_of(second).tick()
        assert len(posted(emulator)) == 2


@pytest.mark.parametrize("kind", ["baseline", "digest"])
async def test_a_crash_longer_than_discords_nonce_window_still_posts_no_duplicate(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, *, clock: SettableClock, kind: str,
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        await add(InteractionDriver(emulator))
        if kind == "digest":
            await scheduler_of(first).tick()
            x.add_likers(POST, 2)
            clock.advance(hours=6)
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(first).tick())
        expected = 2 if kind == "digest" else 1
        await emulator.wait_until(lambda: len(posted(emulator)) == expected, what="the message to arrive")
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    release.set()
    # Down for an hour: Discord no longer remembers the nonce.
    emulator.clock.advance(hours=1)
    clock.advance(hours=1)
    sends = len(emulator.requests_to(*MESSAGES))
    async with digest_bot(emulator, x, database, clock) as second:
        report = await scheduler_of(second).tick()
        assert report.outcomes[1].status == ("posted" if kind == "digest" else "baseline")
        # Found in the channel's history: not sent again.
        assert len(emulator.requests_to(*MESSAGES)) == sends
        assert len(posted(emulator)) == expected
        log = await store.run_log(second.store.conn, 1)
        assert log[0].status == "posted" and log[0].message_id == int(posted(emulator)[-1].id)


async def test_a_fresh_run_sends_without_reading_the_channel_history(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    # Only a run left pending for longer than Discord's nonce window is looked for in the history.
    await add(driver)
    await scheduler_of(dbot).tick()
    x.add_likers(POST, 2)
    clock.advance(hours=6)
    await scheduler_of(dbot).tick()
    assert len(posted(emulator)) == 2
    assert emulator.requests_to("GET", "/channels/{channel_id}/messages") == []


async def test_a_digest_paused_during_a_tick_is_not_posted_by_that_tick(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    await add(driver, channel="general")
    await add(driver, channel="digests")
    # The tick read both due rows, then waits on Discord for digest #1's message.
    release = emulator.stall_next(*MESSAGES)
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    general = emulator.channel("general")
    await emulator.wait_until(
        lambda: len(emulator.messages_in(general, include_ephemeral=False)) == 1, what="digest #1's message"
    )
    paused = await driver.slash("digest pause", digest=2)
    assert "paused" in paused.content
    release.set()
    report = await tick
    assert report.outcomes[2].status == "skipped"
    assert posted(emulator, "digests") == []
    assert await store.run_log(dbot.store.conn, 2) == []


async def test_digest_run_during_the_tick_posting_the_baseline_posts_no_second_baseline(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    await add(driver)
    release = emulator.stall_next(*MESSAGES)
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the baseline")
    # /digest run reads the digest (baseline not done yet), defers, and waits for the tick.
    callbacks = len(emulator.requests_to(*CALLBACKS))
    run = asyncio.create_task(driver.slash("digest run", digest=1))
    await emulator.wait_until(
        lambda: len(emulator.requests_to(*CALLBACKS)) > callbacks, what="/digest run to defer"
    )
    release.set()
    assert (await tick).outcomes[1].status == "baseline"
    result = await run
    await until(lambda: "Nothing new" in result.content, "the answer of /digest run")
    assert len(posted(emulator)) == 1
    log = await store.run_log(dbot.store.conn, 1)
    assert [(r.kind, r.status) for r in log] == [("digest", "nothing_new"), ("baseline", "posted")]


async def test_a_message_discord_refuses_for_good_is_dropped_and_the_next_run_rebuilds_it(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    first_new = x.add_likers(POST, 2)
    clock.advance(hours=6)
    emulator.fail_next(*MESSAGES, 400, code=50035, message="Invalid Form Body")
    assert (await scheduler.tick()).outcomes[1].status == "failed"
    # The refused run is over: not pending, its items not taken (the next run lists them again).
    assert await store.pending_run(dbot.store.conn, 1) is None
    assert await store.seen_items(dbot.store.conn, 1, first_new) == set()
    log = await store.run_log(dbot.store.conn, 1)
    assert log[0].status == "failed" and log[0].error is not None and "400" in log[0].error
    x.add_likers(POST, 1)
    clock.advance(hours=6)
    assert (await scheduler.tick()).outcomes[1].status == "posted"
    (_, digest) = posted(emulator)
    assert digest.embed["title"] == f"3 new likers: post {POST}"
