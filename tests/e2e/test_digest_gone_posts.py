"""A post deleted (or made unreadable) while a `recent` digest reads it: skipped, never the digest."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, posted, sandbox_on, scheduler_of, until
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


def newest_posts(x: XSandbox, clock: SettableClock) -> list[str]:
    since = clock.now - timedelta(days=7)
    mine = [p for p in x.world.posts.values() if p.author_id == sandbox.OWNER_ID and p.created_at >= since]
    return [p.id for p in sorted(mine, key=lambda p: p.created_at, reverse=True)]


async def tick_deleting_the_first_post_read(
    dbot: LikesBot, x: XSandbox, *, hide: bool = False
) -> tuple[str, object]:
    """A tick during which the first post whose likers are asked for is deleted on X.

    The sandbox answers after a short latency: the post is deleted after `user_posts` listed it and
    while its `liking_users` request waits, as when someone deletes it between the two requests.
    """
    before = len(x.requests_to("/liking_users"))
    x.faults.latency_seconds = 0.2
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    await until(lambda: len(x.requests_to("/liking_users")) > before, "the first liking_users request")
    deleted = x.requests_to("/liking_users")[before].path.split("/")[3]
    if hide:
        # X now refuses the post's likes (403 not-authorized-for-resource), as for another's post.
        x.world.posts[deleted] = dataclasses.replace(x.world.posts[deleted], author_id=sandbox.USER_OTHER_ID)
    else:
        x.world.deleted_posts.add(deleted)
    x.faults.latency_seconds = 0.0
    return deleted, await tick


async def test_a_post_deleted_during_a_recent_run_is_skipped_and_said_in_the_run_log(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject="recent", channel="digests", every="1h")
    await scheduler_of(dbot).tick()
    newest, second = newest_posts(x, clock)[:2]
    new_ids = x.add_likers(second, 2)
    x.add_likers(newest, 1)
    clock.advance(hours=1, minutes=1)

    deleted, _ = await tick_deleting_the_first_post_read(dbot, x)

    assert deleted == newest
    (found,) = await store.guild_digests(dbot.store.conn, int(emulator.guild.id))
    assert found.state == "active" and found.failures == 0
    # The other posts' new likers are posted; the deleted post's liker is not (X no longer lists it).
    digest = posted(emulator)[-1]
    assert digest.embed["title"] == "2 new likers: the account's posts of the last 7 days"
    for user_id in new_ids:
        assert x.world.users[user_id].username.replace("_", "\\_") in digest.embed["description"]
    run = (await store.run_log(dbot.store.conn, found.id))[0]
    assert run.status == "posted"
    assert run.error == f"skipped post {deleted}: X says it no longer exists"


async def test_a_post_deleted_during_a_recent_baseline_is_skipped_too(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject="recent", channel="digests", every="1h")
    count = len(newest_posts(x, clock))

    deleted, _ = await tick_deleting_the_first_post_read(dbot, x)

    (found,) = await store.guild_digests(dbot.store.conn, int(emulator.guild.id))
    assert found.state == "active" and found.baseline_done
    (baseline,) = posted(emulator)
    assert baseline.content.startswith(
        f"Tracking started for the account's posts of the last 7 days ({count - 1} posts)")
    run = (await store.run_log(dbot.store.conn, found.id))[0]
    assert run.error == f"skipped post {deleted}: X says it no longer exists"


async def test_a_post_digest_whose_post_is_deleted_is_still_disabled(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject=sandbox.POST_7_LIKES, channel="digests", every="1h")
    await scheduler_of(dbot).tick()
    x.world.deleted_posts.add(sandbox.POST_7_LIKES)
    clock.advance(hours=1, minutes=1)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "disabled"
    (found,) = await store.guild_digests(dbot.store.conn, int(emulator.guild.id))
    assert found.state == "disabled" and "X says the post no longer exists" in (found.reason or "")


async def test_a_post_whose_likes_x_stops_showing_during_a_recent_run_is_skipped(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject="recent", channel="digests", every="1h")
    await scheduler_of(dbot).tick()
    _newest, second = newest_posts(x, clock)[:2]
    x.add_likers(second, 2)
    clock.advance(hours=1, minutes=1)

    hidden, _ = await tick_deleting_the_first_post_read(dbot, x, hide=True)

    (found,) = await store.guild_digests(dbot.store.conn, int(emulator.guild.id))
    assert found.state == "active" and found.failures == 0
    assert posted(emulator)[-1].embed["title"] == "2 new likers: the account's posts of the last 7 days"
    run = (await store.run_log(dbot.store.conn, found.id))[0]
    assert run.error == f"skipped post {hidden}: X no longer lets the account see its likes"
