"""Live digests end to end (emulator + sandbox): the baseline, likes posted as they come, bursts in a
few messages, stream drops and stalls without a like lost or doubled, likes without includes resolved
with one liking_users request a burst, a gap beyond the backfill filled and said, and a crash between
recording a like and posting it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import accounts.configured as configured_module
from bot import LikesBot
from digests.live_feed import LiveFeed
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, digest_bot, posted, sandbox_on
from tests.emulator import DiscordEmulator
from tests.emulator.state import Message
from xapi import sandbox
from xapi.sandbox import XSandbox

POST = sandbox.POST_7_LIKES
POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{POST}"
QUICK_STREAM = {"stall_seconds": 1.0, "backoff_first": 0.05, "backoff_cap": 0.2}

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        # Keep-alives well inside the reader's 1 s stall limit: only the tests' stalls are stalls.
        server.streams.keepalive_seconds = 0.2
        yield server


def feed_of(bot: LikesBot) -> LiveFeed:
    feed = getattr(bot.get_cog("DigestsCog"), "live", None)
    assert feed is not None
    return feed  # type: ignore[no-any-return]


async def start_live(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, **feed: Any,
) -> None:
    """A live digest of POST in #digests, its baseline posted, the stream connected."""
    live = feed_of(bot)
    live.stream_options = dict(QUICK_STREAM)
    for name, value in feed.items():
        setattr(live, name, value)
    result = await driver.slash("digest add", subject=POST_URL, channel="digests", every="live")
    assert "Live digest #1 created" in result.content
    await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the baseline")
    await connected(live)


async def connected(live: LiveFeed) -> None:
    for _ in range(500):
        stream = getattr(live, "stream", None)
        if stream is not None and stream.connected.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream did not connect")


async def reconnected(live: LiveFeed, connects_before: int) -> None:
    await digest_support.until(lambda: live.stream.stats.connects > connects_before, "the reconnect")


def liker_links(messages: list[Message]) -> list[str]:
    """The profile links of every liker the live messages list, in order (duplicates kept)."""
    links: list[str] = []
    for message in messages:
        for embed in message.data.get("embeds", []):
            links += re.findall(r"\]\((https://x\.com/[^)]+)\)", embed.get("description", ""))
    return links


async def until_likers(emulator: DiscordEmulator, count: int) -> list[str]:
    await emulator.wait_until(lambda: len(liker_links(posted(emulator)[1:])) >= count,
                              within=15, what=f"{count} likers posted")
    await asyncio.sleep(2.5)  # one more flush: nothing doubled arrives later
    return liker_links(posted(emulator)[1:])


async def test_baseline_then_each_new_liker_posted_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    await start_live(dbot, driver, emulator)
    baseline = posted(emulator)[0].data["content"]
    assert baseline.startswith(f"Tracking started for post {POST}: 7 likes so far")
    x.add_likers(POST, 3)
    links = await until_likers(emulator, 3)
    assert len(links) == len(set(links)) == 3
    embed = posted(emulator)[1].data["embeds"][0]
    assert embed["title"] == f"3 new likers: post {POST}"
    sent = emulator.requests_to("POST", "/channels/{channel_id}/messages")
    assert sent and all(r.json["allowed_mentions"] == {"parse": []} for r in sent)


async def test_likes_between_the_add_and_the_streams_first_connection_are_posted(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    feed_of(dbot).stream_options = dict(QUICK_STREAM)
    x.streams.streams_down = True  # the stream's first connection comes after these likes
    await driver.slash("digest add", subject=POST_URL, channel="digests", every="live")
    x.add_likers(POST, 2)
    await asyncio.sleep(0.3)
    x.streams.streams_down = False
    links = await until_likers(emulator, 2)
    assert len(links) == len(set(links)) == 2


async def test_a_burst_of_50_likes_in_a_second_is_a_few_messages_each_liker_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    await start_live(dbot, driver, emulator)
    for _ in range(10):
        x.add_likers(POST, 5)
        await asyncio.sleep(0.1)
    links = await until_likers(emulator, 50)
    assert len(links) == len(set(links)) == 50
    assert len(posted(emulator)) - 1 <= 3


async def test_a_burst_larger_than_one_message_lists_every_liker_in_the_next_messages(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    await start_live(dbot, driver, emulator)
    x.add_likers(POST, 150)
    links = await until_likers(emulator, 150)
    assert len(links) == len(set(links)) == 150
    descriptions = [m.data["embeds"][0]["description"] for m in posted(emulator)[1:]]
    assert not any("more" in d.splitlines()[-1] for d in descriptions)


async def test_stream_drops_and_stalls_lose_and_double_no_like(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    await start_live(dbot, driver, emulator)
    live = feed_of(dbot)
    for round_ in range(4):
        connects = live.stream.stats.connects
        x.add_likers(POST, 3)
        if round_ % 2:
            x.stall_streams()
        else:
            x.drop_streams()
        x.add_likers(POST, 2)  # while the reader is away: the backfill brings them
        await reconnected(live, connects)
    links = await until_likers(emulator, 20)
    assert len(links) == len(set(links)) == 20
    assert live.stream.stats.drops >= 4 and live.stream.stats.stalls >= 1


async def test_likes_without_includes_cost_one_liking_users_request_per_burst(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    await start_live(dbot, driver, emulator)
    before = len(x.requests_to("/liking_users"))
    x.omit_includes = True
    x.add_likers(POST, 20)
    links = await until_likers(emulator, 20)
    assert len(links) == len(set(links)) == 20
    assert len(x.requests_to("/liking_users")) - before == 1


async def test_a_gap_longer_than_the_backfill_is_filled_from_liking_users_and_said(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    await start_live(dbot, driver, emulator)
    down_at = int(clock.timestamp())
    x.streams.streams_down = True
    x.drop_streams()
    clock.advance(minutes=1)
    x.add_likers(POST, 4)  # older than the 5 minutes the backfill reaches
    clock.advance(minutes=9)
    x.streams.streams_down = False
    links = await until_likers(emulator, 4)
    assert len(links) == len(set(links)) == 4
    description = posted(emulator)[1].data["embeds"][0]["description"]
    assert description.startswith(f"⚠️ X's stream was down from <t:{down_at}:f> to <t:")
    assert "likes in that window beyond the newest 100 may be missing" in description


async def test_a_crash_between_recording_and_posting_posts_once_after_the_restart(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        # The first bot records but never gets to post (its flush would come an hour later).
        await start_live(first, InteractionDriver(emulator), emulator, gather_seconds=3600.0)
        x.add_likers(POST, 3)
        live = feed_of(first)
        for _ in range(500):
            if live.recorded == 3:
                break
            await asyncio.sleep(0.01)
        assert live.recorded == 3
    assert len(posted(emulator)) == 1
    async with digest_bot(emulator, x, database, clock):
        links = await until_likers(emulator, 3)
        assert len(links) == len(set(links)) == 3
        assert len(posted(emulator)) == 2


async def test_sandbox_mode_shows_a_live_digest_of_simulated_likes(
    emulator: DiscordEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(configured_module, "SIMULATED_LIKE_SECONDS", 0.2)
    settings = emulator_settings(emulator, "https://api.x.com", tmp_path / "likelens.db", sandbox=True)
    async with running_bot(emulator, settings):
        result = await InteractionDriver(emulator).slash(
            "digest add", subject="recent", channel="digests", every="live")
        assert "Live digest #1 created" in result.content
        await emulator.wait_until(lambda: len(liker_links(posted(emulator)[1:])) >= 1, within=15,
                                  what="a simulated like posted")
        assert posted(emulator)[0].data["content"].startswith("Tracking started")


async def test_likes_without_their_liker_recorded_before_a_restart_are_resolved_and_posted_after_it(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        await start_live(first, InteractionDriver(emulator), emulator, gather_seconds=3600.0)
        x.omit_includes = True
        x.add_likers(POST, 4)
        live = feed_of(first)
        await digest_support.until(lambda: live.recorded == 4, "4 likes recorded")
    async with digest_bot(emulator, x, database, clock):
        links = await until_likers(emulator, 4)
        assert len(links) == len(set(links)) == 4
