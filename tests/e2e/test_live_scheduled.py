"""Scheduled digests beside a live subscription (emulator + sandbox): a 1h post digest of an account
whose stream ran without a gap since its last run reads the recorded likes (every new liker, no
liking_users request); after a gap beyond the backfill, or without a subscription, it polls X (at most
the newest 100 likers)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot import LikesBot
from digests import live_feed
from digests.live_feed import LiveFeed
from store import like_events as events
from store.meta import get_meta
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, posted, sandbox_on, scheduler_of
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

POST = sandbox.POST_7_LIKES
POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{POST}"
QUICK_STREAM = {"stall_seconds": 1.0, "backoff_first": 0.05, "backoff_cap": 0.2}

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[XSandbox]:
    # The stream stores its alive time often: the test's clock jumps an hour, the heartbeat follows.
    monkeypatch.setattr(live_feed, "ALIVE_EVERY_SECONDS", 0.05)
    async with sandbox_on(clock) as server:
        server.streams.keepalive_seconds = 0.2
        yield server


def feed_of(bot: LikesBot) -> LiveFeed:
    feed = getattr(bot.get_cog("DigestsCog"), "live", None)
    assert feed is not None
    return feed  # type: ignore[no-any-return]


async def live_recent_digest(bot: LikesBot, driver: InteractionDriver) -> LiveFeed:
    """Digest #1: a live `recent` digest of the account (its inbound subscription, the stream connected)."""
    live = feed_of(bot)
    live.stream_options = dict(QUICK_STREAM)
    result = await driver.slash("digest add", subject="recent", channel="digests", every="live")
    assert "Live digest #1 created" in result.content
    await digest_support.until(
        lambda: getattr(live, "stream", None) is not None and live.stream.connected.is_set(), "the stream")
    return live


async def hourly_post_digest(bot: LikesBot, driver: InteractionDriver, digest_id: int) -> None:
    result = await driver.slash("digest add", subject=POST_URL, channel="general", every="1h")
    assert f"#{digest_id}" in result.content
    assert (await scheduler_of(bot).tick()).outcomes[digest_id].status == "baseline"


async def stream_alive_at(bot: LikesBot, clock: SettableClock) -> None:
    async def alive() -> bool:
        value = await get_meta(bot.store.conn, events.ALIVE_KEY)
        return value is not None and float(value) >= clock.timestamp()
    await digest_support.eventually(alive, "the stream's alive time after the clock's jump")


def liking_users_requests(x: XSandbox) -> int:
    return len(x.requests_to("/liking_users"))


async def test_an_hourly_post_digest_reads_all_150_recorded_likers_without_a_liking_users_request(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    live = await live_recent_digest(dbot, driver)
    await hourly_post_digest(dbot, driver, 2)
    x.add_likers(POST, 150)
    await digest_support.until(lambda: live.recorded == 150, "150 likes recorded")
    clock.advance(hours=1)
    await stream_alive_at(dbot, clock)
    before = liking_users_requests(x)
    outcome = (await scheduler_of(dbot).tick()).outcomes[2]
    assert (outcome.status, outcome.posted) == ("posted", 150)
    assert liking_users_requests(x) == before
    embed = posted(emulator, "general")[-1].data["embeds"][0]
    assert embed["title"] == f"150 new likers: post {POST}"
    # Nothing is posted twice: the next hour has nothing new.
    clock.advance(hours=1)
    await stream_alive_at(dbot, clock)
    assert (await scheduler_of(dbot).tick()).outcomes[2].status == "nothing_new"
    assert liking_users_requests(x) == before


async def test_after_a_gap_beyond_the_backfill_the_hourly_digest_polls_x(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    live = await live_recent_digest(dbot, driver)
    await hourly_post_digest(dbot, driver, 2)
    connects = live.stream.stats.connects
    x.streams.streams_down = True
    x.drop_streams()
    clock.advance(minutes=10)  # longer than the 5 minutes the backfill reaches
    x.streams.streams_down = False
    await digest_support.eventually(
        lambda: _has_gap(dbot), "the gap recorded")
    await digest_support.until(lambda: live.stream.stats.connects > connects, "the reconnect")
    x.add_likers(POST, 150)
    await digest_support.until(lambda: live.recorded == 150, "150 likes recorded")
    clock.advance(hours=1)
    await stream_alive_at(dbot, clock)
    before = liking_users_requests(x)
    outcome = (await scheduler_of(dbot).tick()).outcomes[2]
    assert liking_users_requests(x) == before + 1
    assert (outcome.status, outcome.posted) == ("posted", 100)  # X lists the newest 100


async def _has_gap(bot: LikesBot) -> bool:
    return await get_meta(bot.store.conn, events.GAP_END_KEY) is not None


async def test_without_a_live_subscription_the_hourly_digest_polls_x_as_before(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    await hourly_post_digest(dbot, driver, 1)
    x.add_likers(POST, 150)
    clock.advance(hours=1)
    before = liking_users_requests(x)
    outcome = (await scheduler_of(dbot).tick()).outcomes[1]
    assert liking_users_requests(x) == before + 1
    assert (outcome.status, outcome.posted) == ("posted", 100)


async def test_an_hourly_recent_digest_reads_the_recorded_likes_of_every_recent_post(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    live = await live_recent_digest(dbot, driver)
    result = await driver.slash("digest add", subject="recent", channel="general", every="1h")
    assert "#2" in result.content
    assert (await scheduler_of(dbot).tick()).outcomes[2].status == "baseline"
    x.add_likers(POST, 150)
    await digest_support.until(lambda: live.recorded == 150, "150 likes recorded")
    clock.advance(hours=1)
    await stream_alive_at(dbot, clock)
    before = liking_users_requests(x)
    outcome = (await scheduler_of(dbot).tick()).outcomes[2]
    assert (outcome.status, outcome.posted) == ("posted", 150)
    assert liking_users_requests(x) == before
