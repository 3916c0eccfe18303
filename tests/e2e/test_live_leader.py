"""One live-likes stream per deployment: two bot processes on one database (in one event loop, each
on its own shard of two, the emulator routing each guild to its shard), the X sandbox counting the
stream connections. The process holding lease "live-stream" reads X's stream and posts every live
digest, also those of a guild on the other shard (through REST: not in its gateway cache); the
other takes over when the leader stops (a clean stop releases the lease at once; a killed one's
lease expires), resumes from the stored position, and every like is posted exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import discord
import pytest
import pytest_asyncio

from bot import LikesBot
from tests.botharness import InteractionDriver, discord_pointed_at, emulator_settings, running_bot
from tests.e2e import digest_support
from tests.e2e.digest_support import MESSAGES, SettableClock, posted, sandbox_on, scheduler_of
from tests.e2e.test_live_feed import POST, POST_URL, QUICK_STREAM, feed_of, until_likers
from tests.emulator import DiscordEmulator
from tests.emulator.sharding import shard_of
from xapi.sandbox import XSandbox

# Short leases so a takeover happens within the test (renewed every second).
LEASE_SECONDS = 3.0

clock = digest_support.clock


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        server.streams.keepalive_seconds = 0.2
        yield server


class Deployment:
    """Bot processes of one deployment: one database, each process on its own shard of two."""

    def __init__(self, emulator: DiscordEmulator, x: XSandbox, database: Path, clock: SettableClock) -> None:
        self.emulator, self.x, self.database, self.clock = emulator, x, database, clock
        self.stack = contextlib.AsyncExitStack()
        self.exits: dict[int, contextlib.AsyncExitStack] = {}

    async def start(
        self, shard_id: int, *, clock: SettableClock | None = None, lease_seconds: float = LEASE_SECONDS,
    ) -> LikesBot:
        """A process on shard_id (clock: its own, else the deployment's)."""
        settings = emulator_settings(self.emulator, self.x.base_url, self.database, shard_count=2,
                                     shard_ids=(shard_id,))
        own = contextlib.AsyncExitStack()
        bot = await own.enter_async_context(
            running_bot(self.emulator, settings, clock=clock or self.clock, shard_id=shard_id, shard_count=2))
        self.exits[id(bot)] = own
        self.stack.push_async_callback(own.aclose)
        await scheduler_of(bot).stop()
        feed = feed_of(bot)
        feed.stream_options = dict(QUICK_STREAM)
        assert feed.leadership is not None
        feed.leadership.seconds = lease_seconds
        return bot

    async def stop(self, bot: LikesBot) -> None:
        """A clean stop of one process (its lease given up)."""
        await self.exits[id(bot)].aclose()


@pytest_asyncio.fixture
async def deployment(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> AsyncIterator[Deployment]:
    running = Deployment(emulator, x, tmp_path / "likelens.db", clock)
    # Outermost: a process stopped first must not point the others' discord.py back at discord.com.
    with discord_pointed_at(emulator):
        async with running.stack:
            yield running


async def leader_and_home(deployment: Deployment, emulator: DiscordEmulator) -> tuple[LikesBot, LikesBot]:
    """The first process (the leader) runs the shard the test guild is NOT on; the second runs it.
    A live digest is added through the second; its baseline is posted."""
    home_shard = shard_of(emulator.guild.id, 2)
    leader = await deployment.start(1 - home_shard)
    home = await deployment.start(home_shard)
    assert leader.get_guild(int(emulator.guild.id)) is None
    assert home.get_guild(int(emulator.guild.id)) is not None
    result = await InteractionDriver(emulator).slash("digest add", subject=POST_URL, channel="digests",
                                                     every="live")
    assert "Live digest #1 created" in result.content
    await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the baseline")
    await digest_support.until(lambda: deployment.x.streams.open_streams == 1, "the stream connected")
    return leader, home


def listings(x: XSandbox) -> list[object]:
    """The app's listings of its subscriptions at X (what a reconcile asks first)."""
    return [r for r in x.requests_to("/2/activity/subscriptions") if r.method == "GET"]


async def test_two_processes_open_one_stream_and_the_leader_posts_the_other_shards_likes_once(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    leader, home = await leader_and_home(deployment, emulator)
    x.add_likers(POST, 3)
    links = await until_likers(emulator, 3)
    assert len(links) == len(set(links)) == 3
    assert x.streams.connections == 1 and x.streams.open_streams == 1
    assert feed_of(leader).leading and not feed_of(home).leading
    assert feed_of(leader).recorded == 3 and feed_of(home).recorded == 0


async def stopped_with_a_live_digest(deployment: Deployment, emulator: DiscordEmulator) -> int:
    """Both processes ran and stopped, a live digest in the database; the stream connections so far."""
    first, second = await leader_and_home(deployment, emulator)
    await deployment.stop(first)
    await deployment.stop(second)
    await digest_support.until(lambda: deployment.x.streams.open_streams == 0, "the stream closed")
    return deployment.x.streams.connections


async def test_two_processes_started_with_a_live_digest_open_one_stream_and_post_each_like_once(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    before = await stopped_with_a_live_digest(deployment, emulator)
    listed = len(listings(x))
    # Both start with the live digest in the database: each would read the stream on its own.
    home_shard = shard_of(emulator.guild.id, 2)
    await deployment.start(1 - home_shard)
    await deployment.start(home_shard)
    await digest_support.until(lambda: x.streams.open_streams >= 1, "the stream connected")
    x.add_likers(POST, 4)
    links = await until_likers(emulator, 4)
    assert len(links) == len(set(links)) == 4
    assert x.streams.connections - before == 1 and x.streams.open_streams == 1
    # The subscriptions were reconciled once, by the leader (a list of the app's subscriptions at X).
    assert len(listings(x)) - listed == 1



async def test_a_stuck_leader_whose_lease_was_taken_over_posts_nothing_and_each_like_is_posted_once(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await stopped_with_a_live_digest(deployment, emulator)
    home_shard = shard_of(emulator.guild.id, 2)
    # The first process leads on a 200 s lease (its next check comes in a minute); the second's clock
    # is 4 minutes ahead, so that lease looks expired to it and it takes over at once, while the first
    # still reads the stream and posts, as a process stuck past its lease does.
    stuck = await deployment.start(1 - home_shard, lease_seconds=200.0)
    assert feed_of(stuck).leading
    ahead = SettableClock()
    ahead.now = clock.now + timedelta(minutes=4)
    home = await deployment.start(home_shard, clock=ahead)
    await digest_support.until(lambda: feed_of(home).leading and x.streams.open_streams == 2,
                               "both processes reading the stream")
    assert feed_of(stuck).leading  # it has not checked its lease since
    feed_of(home).gather_seconds = 3.0  # the stuck process tries its batch first, and meets the fence
    with caplog.at_level(logging.WARNING, logger="likelens.live"):
        x.add_likers(POST, 3)
        links = await until_likers(emulator, 3)
    assert len(links) == len(set(links)) == 3
    # The stuck process tried to post a batch, was refused by the lease and sent nothing.
    assert any("the lease went to another process" in r.getMessage() for r in caplog.records)
    assert feed_of(stuck).poster.messages_sent == 0 and feed_of(home).poster.messages_sent >= 1


async def test_a_killed_leaders_lease_expires_and_the_other_process_posts_the_likes_made_meanwhile_once(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    leader, home = await leader_and_home(deployment, emulator)
    x.add_likers(POST, 3)
    await until_likers(emulator, 3)
    await feed_of(leader).halt()  # as kill -9 leaves it: no renewal, the lease not given up
    x.add_likers(POST, 2)  # while no process reads the stream
    await digest_support.until(lambda: x.streams.open_streams == 0, "the stream closed")
    assert not feed_of(home).leading
    clock.advance(seconds=60)  # the dead leader's lease expires
    links = await until_likers(emulator, 5)
    assert len(links) == len(set(links)) == 5
    assert feed_of(home).leading and feed_of(home).recorded == 2
    assert x.streams.connections == 2 and x.streams.open_streams == 1


async def test_a_cleanly_stopped_leader_gives_the_lease_up_and_the_other_takes_over_at_once(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox,
) -> None:
    leader, home = await leader_and_home(deployment, emulator)
    await deployment.stop(leader)
    # The clock does not move: only the released lease lets the other process in.
    await digest_support.until(lambda: feed_of(home).leading and x.streams.open_streams == 1,
                               "the other process leads")
    x.add_likers(POST, 2)
    links = await until_likers(emulator, 2)
    assert len(links) == len(set(links)) == 2
    assert x.streams.connections == 2


async def test_a_channel_that_refuses_the_leader_is_tried_again_only_after_a_rest(
    deployment: Deployment, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    """The leader has no cache of the other shard's channel to check its permissions in: Discord's
    403 tells it, and it does not ask again at every like (each refusal counts against the bot)."""
    await leader_and_home(deployment, emulator)
    channel = emulator.channel("digests")
    await emulator.set_bot_deny(channel, discord.Permissions(send_messages=True))

    def refused() -> int:
        return sum(1 for r in emulator.requests_to(*MESSAGES) if r.status == 403)

    x.add_likers(POST, 2)
    await emulator.wait_until(lambda: refused() == 1, what="the refused message")
    for _ in range(3):
        x.add_likers(POST, 1)
        await asyncio.sleep(2.5)  # a flush after each like (min_gap 2 s)
    assert refused() == 1
    await emulator.set_bot_deny(channel, discord.Permissions.none())
    clock.advance(minutes=11)
    x.add_likers(POST, 1)
    links = await until_likers(emulator, 6)
    assert len(links) == len(set(links)) == 6
