"""Two LikesBot processes on one database (SQLite file or PostgreSQL schema), one emulator, one X
sandbox: each due digest is posted exactly once, a stuck process's digests are taken over after the
lease, a process claims its own shards' servers, and pruning is done by the "prune" lease's holder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot import LikesBot
from digests.runner import GUILD_LEFT_REASON, RunOutcome
from digests.tick_claims import TAKEN_OVER
from store import digest_claims, leases
from store import digests as store
from tests.botharness import emulator_settings, running_bot
from tests.e2e import digest_support
from tests.e2e.digest_support import MESSAGES, SettableClock, posted, scheduler_of
from tests.emulator import DiscordEmulator, Guild
from tests.emulator.state import Channel
from xapi import sandbox
from xapi.sandbox import XSandbox

x = digest_support.x
clock = digest_support.clock
SUBJECTS = (sandbox.POST_7_LIKES, sandbox.POST_MANY_LIKES)


@contextlib.asynccontextmanager
async def process(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock, **settings: Any
) -> AsyncIterator[LikesBot]:
    """One bot process on the test's database; its scheduler loop stopped (the test ticks it)."""
    configured = emulator_settings(emulator, x.base_url, tmp_path / "likelens.db", **settings)
    async with running_bot(emulator, configured, clock=clock) as bot:
        await scheduler_of(bot).stop()
        yield bot


async def add_digests(
    bot: LikesBot, guild: Guild, channels: list[Channel], now: float, subjects: tuple[str, ...] = SUBJECTS,
) -> list[int]:
    """A digest of each subject in each channel, due now (their baseline is what a tick posts)."""
    ids = []
    for channel in channels:
        for subject in subjects:
            digest = await store.add_digest(
                bot.store.conn, guild_id=int(guild.id), channel_id=int(channel.id), creator_id=1,
                subject_kind="post", subject_id=subject, every_seconds=3600, now=now,
            )
            ids.append(digest.id)
    return ids


def messages_per_channel(emulator: DiscordEmulator, channels: list[Channel]) -> list[int]:
    return [len(emulator.history(channel)) for channel in channels]


async def test_two_processes_ticking_at_once_post_each_due_digest_once(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    channels = [emulator.add_channel(f"feed-{n}") for n in range(4)]
    async with process(emulator, x, tmp_path, clock) as first, \
            process(emulator, x, tmp_path, clock) as second:
        assert first.instance_id != second.instance_id
        ids = await add_digests(first, emulator.guild, channels, clock.timestamp())
        reports = await asyncio.gather(scheduler_of(first).tick(), scheduler_of(second).tick())
        ran = [set(report.outcomes) for report in reports]
        assert not ran[0] & ran[1] and ran[0] | ran[1] == set(ids)
        # One baseline per digest: two per channel, none twice.
        assert messages_per_channel(emulator, channels) == [2, 2, 2, 2]
        # Whole subjects were claimed: each subject's likers were read once, whoever ran it.
        assert len(x.requests_to("/liking_users")) == len(SUBJECTS)
        again = await asyncio.gather(scheduler_of(first).tick(), scheduler_of(second).tick())
        assert [r.rows_read for r in again] == [0, 0]
        assert messages_per_channel(emulator, channels) == [2, 2, 2, 2]
        rows = await store.guild_digests(first.store.conn, int(emulator.guild.id))
        assert all(d.next_run_at == pytest.approx(clock.timestamp() + 3600) for d in rows)


async def test_a_stuck_processs_claims_are_taken_over_after_the_lease_and_post_once(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async with process(emulator, x, tmp_path, clock) as first, \
            process(emulator, x, tmp_path, clock) as stuck:
        channel = emulator.channel("digests")
        (digest_id, _) = await add_digests(first, emulator.guild, [channel], clock.timestamp())
        # The stuck process sent the baseline; Discord took it, but the answer never came back.
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(stuck).tick())
        await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the baseline")
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        release.set()
        # What kill -9 leaves: the run pending and the claims still the stuck process's.
        claimed = await digest_claims.claim_due(
            stuck.store.conn, stuck.instance_id, now=clock.timestamp(), limit=10)
        assert [d.id for d in claimed] == [digest_id, digest_id + 1]
        assert (await scheduler_of(first).tick()).rows_read == 0
        clock.advance(seconds=digest_claims.CLAIM_SECONDS)
        report = await scheduler_of(first).tick()
        assert {o.status for o in report.outcomes.values()} == {"baseline"}
        assert sorted(report.outcomes) == [digest_id, digest_id + 1]
        # The pending baseline went again with its nonce: Discord kept the first.
        assert len(posted(emulator)) == 2
        assert await store.pending_run(first.store.conn, digest_id) is None


async def test_a_tick_stalled_past_its_lease_skips_the_digests_taken_over_meanwhile(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async with process(emulator, x, tmp_path, clock) as slow, \
            process(emulator, x, tmp_path, clock) as other:
        channel = emulator.channel("digests")
        first, second = await add_digests(slow, emulator.guild, [channel], clock.timestamp())
        # The slow process claims both; Discord holds its answer to the first baseline past the lease.
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(slow).tick())
        await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the first baseline")
        clock.advance(seconds=digest_claims.CLAIM_SECONDS)
        taken = await scheduler_of(other).tick()
        assert sorted(taken.outcomes) == [first, second]
        release.set()
        report = await tick
        assert report.outcomes[first].status == "baseline"
        assert report.outcomes[second] == RunOutcome("skipped", TAKEN_OVER.format(id=second))
        # The first baseline went twice with one nonce: Discord kept one message.
        assert len(posted(emulator)) == 2


async def test_digest_run_refuses_a_digest_another_process_is_running(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async with process(emulator, x, tmp_path, clock) as first:
        channel = emulator.channel("digests")
        (digest_id, _) = await add_digests(first, emulator.guild, [channel], clock.timestamp())
        now = clock.timestamp()
        assert await digest_claims.claim_one(first.store.conn, digest_id, "another:1:abc", now=now)
        outcome = await scheduler_of(first).run_now(digest_id)
        assert outcome.status == "skipped"
        assert outcome.text == (
            f"Digest #{digest_id} is running in another LikeLens process right now: nothing more was posted."
        )
        assert posted(emulator) == []


async def test_each_process_claims_its_shards_servers_and_takes_over_a_silent_shard(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    guilds = [emulator.add_guild(f"shard-{n}", shard=(n, 2)) for n in range(2)]
    shard = {n: {"shard_count": 2, "shard_ids": (n,)} for n in range(2)}
    async with process(emulator, x, tmp_path, clock, **shard[0]) as zero, \
            process(emulator, x, tmp_path, clock, **shard[1]) as one:
        now = clock.timestamp()
        # Posts of their own in each server (a subject followed on both shards is claimed whole by one).
        on_zero = await add_digests(zero, guilds[0], [guilds[0].channels[1]], now)
        on_one = await add_digests(
            zero, guilds[1], [guilds[1].channels[1]], now, (sandbox.POST_100_LIKES, sandbox.POST_NO_LIKES))
        assert sorted((await scheduler_of(zero).tick()).outcomes) == on_zero
        assert sorted((await scheduler_of(one).tick()).outcomes) == on_one
        assert messages_per_channel(emulator, [g.channels[1] for g in guilds]) == [2, 2]
        # A server added while both run, on shard 1 (its process silent from now on): not in
        # shard 0's cache, and not shard 0's to run until overdue by more than the lease.
        late = emulator.add_guild("late", shard=(1, 2))
        assert zero.get_guild(int(late.id)) is None
        orphans = await add_digests(
            zero, late, [late.channels[1]], clock.timestamp(), (sandbox.POST_OWNER_PINNED,))
        assert (await scheduler_of(zero).tick()).rows_read == 0
        clock.advance(seconds=digest_claims.CLAIM_SECONDS)
        report = await scheduler_of(zero).tick()
        # Posted through Discord's REST API: shard 0 does not conclude the bot left the server.
        assert sorted(report.outcomes) == orphans
        assert {o.status for o in report.outcomes.values()} == {"baseline"}
        assert len(emulator.history(late.channels[1])) == 1
        for digest_id in orphans:
            digest = await store.get_digest(zero.store.conn, digest_id)
            assert digest is not None and digest.state == "active" and digest.reason != GUILD_LEFT_REASON


async def test_a_pending_run_in_another_shards_server_is_found_in_its_history_after_a_long_crash(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async with process(emulator, x, tmp_path, clock, shard_count=2, shard_ids=(0,)) as zero:
        late = emulator.add_guild("late", shard=(1, 2))
        channel = late.channels[1]
        overdue = clock.timestamp() - digest_claims.CLAIM_SECONDS
        (digest_id,) = await add_digests(zero, late, [channel], overdue, (sandbox.POST_7_LIKES,))
        # Discord took the baseline; the process died before it heard so, for longer than the nonce window.
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(zero).tick())
        await emulator.wait_until(lambda: len(emulator.history(channel)) == 1, what="the baseline")
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
        release.set()
        emulator.clock.advance(hours=1)
        clock.advance(hours=1)
        sends = len(emulator.requests_to(*MESSAGES))
        report = await scheduler_of(zero).tick()
        assert report.outcomes[digest_id].status == "baseline"
        # Read through Discord's REST API (the server is not in this process's cache): not sent again.
        assert len(emulator.requests_to(*MESSAGES)) == sends
        assert len(emulator.history(channel)) == 1
        assert emulator.requests_to("GET", "/channels/{channel_id}/messages")


async def test_a_server_of_another_shard_whose_channel_refuses_the_bot_pauses_as_today(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async with process(emulator, x, tmp_path, clock, shard_count=2, shard_ids=(0,)) as zero:
        late = emulator.add_guild("late", shard=(1, 2))
        closed = emulator.add_channel("closed", guild=late, bot_deny=discord.Permissions(send_messages=True))
        (digest_id, _) = await add_digests(zero, late, [closed], clock.timestamp())
        clock.advance(seconds=digest_claims.CLAIM_SECONDS)
        report = await scheduler_of(zero).tick()
        assert report.outcomes[digest_id].status == "paused"
        assert report.outcomes[digest_id].text == (
            f"Paused: LikeLens lacks the permission to post in <#{closed.id}>. "
            f"Give it those permissions there, then `/digest resume digest:{digest_id}`."
        )
        assert emulator.history(closed) == []


async def test_only_the_prune_leases_holder_prunes(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    async def left_server_digest(bot: LikesBot, channel: int) -> int:
        # Disabled because the bot left its server, 31 days ago: what pruning deletes.
        digest = await store.add_digest(
            bot.store.conn, guild_id=42, channel_id=channel, creator_id=1, subject_kind="post",
            subject_id=sandbox.POST_7_LIKES, every_seconds=3600, now=clock.timestamp() - 31 * 86400,
        )
        await store.disable_guild_digests(bot.store.conn, 42, GUILD_LEFT_REASON)
        return digest.id

    async with process(emulator, x, tmp_path, clock) as first, \
            process(emulator, x, tmp_path, clock) as second:
        await scheduler_of(first).prune_now_and_then()
        holder = await leases.holder_of(first.store.conn, "prune", now=clock.timestamp())
        assert holder == first.instance_id
        kept = await left_server_digest(first, 1)
        await scheduler_of(second).prune_now_and_then()
        assert await store.get_digest(second.store.conn, kept) is not None
        # An hour on, the holder prunes again (its lease renewed); the other still does not.
        clock.advance(hours=1)
        await scheduler_of(first).prune_now_and_then()
        assert await store.get_digest(second.store.conn, kept) is None
        again = await left_server_digest(first, 2)
        await scheduler_of(second).prune_now_and_then()
        assert await store.get_digest(second.store.conn, again) is not None
        # The holder stops cleanly: its lease is released and the other takes pruning over.
        await scheduler_of(first).stop()
        clock.advance(hours=1)
        await scheduler_of(second).prune_now_and_then()
        assert await store.get_digest(second.store.conn, again) is None
        holder = await leases.holder_of(second.store.conn, "prune", now=clock.timestamp())
        assert holder == second.instance_id
