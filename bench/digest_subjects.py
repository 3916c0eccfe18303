"""Benchmark 5b: a digest tick over many subjects, against a naive scheduler, in one run.

10,000 digests over 1,000 posts of the account (10 digests per post); 100 are due, over 50 distinct
posts (quick: 1,000 over 100, 10 due over 5). LikeLens' DigestScheduler.tick() (a real LikesBot on
the emulator and the X sandbox) against a naive scheduler in the same run: read every digest row,
keep the due ones, fetch the likers once per due digest. LikeLens must read only the due rows and
send exactly one likers request per distinct due post, plus one batched post lookup per 100 distinct
due posts (their like counts for the run log). bench/digest_tick.py (the digest helper's)
covers the other subject kinds.
Run: python -m bench.digest_subjects [--quick]
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
import aiosqlite

from bench.harness import (
    Table,
    TimedEmulator,
    bench_main,
    bench_sandbox,
    check,
    ratio,
    requests_since,
    schema_checks_off,
)
from bench.x_requests import x_client
from store.engine import Database
from tests.botharness import emulator_settings, running_bot
from tests.e2e.digest_support import SettableClock, scheduler_of
from xapi import sandbox
from xapi.sandbox import XSandbox

LIKERS_PER_POST = 12


@dataclass(frozen=True)
class Scale:
    digests: int
    posts: int
    due: int
    due_posts: int


@dataclass
class TickFigures:
    label: str
    seconds: float
    rows_read: int
    likers_requests: int
    post_lookups: int
    all_requests: int
    posted: int


def add_owner_posts(x: XSandbox, count: int, now: datetime) -> list[str]:
    """count new posts of the connected account, each with a few likers."""
    rng = random.Random(20261201)
    ids = []
    for _ in range(count):
        post = x.world.new_post(rng, sandbox.OWNER_ID, now)
        x.add_likers(post.id, LIKERS_PER_POST)
        ids.append(post.id)
    return ids


def due_indexes(scale: Scale) -> set[int]:
    """Which digests are due: `due` of them, spread over the first `due_posts` posts."""
    return {k % scale.due_posts + scale.posts * (k // scale.due_posts) for k in range(scale.due)}


def channel_count(scale: Scale) -> int:
    """Channels that hold due digests: row n is in channel n // posts (one digest per channel and post)."""
    return max(due_indexes(scale)) // scale.posts + 1


async def insert_digests(
    conn: Database, scale: Scale, posts: list[str], *, guild_id: int, channel_ids: list[int],
    now: float,
) -> None:
    due = due_indexes(scale)
    # The due rows' channels exist; the others' (never due during the bench) are never read.
    channels = [*channel_ids, *range(len(channel_ids), scale.digests // scale.posts + 1)]
    rows = [(guild_id, channels[n // scale.posts], "post", posts[n % scale.posts], now,
             now - 1 if n in due else now + 8 * 3600 + n) for n in range(scale.digests)]
    await conn.executemany(
        "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
        "created_at, next_run_at) VALUES (?, ?, 1, ?, ?, 21600, ?, ?)", rows,
    )
    await conn.commit()


def likers_requests(x: XSandbox, since: int) -> int:
    return sum(1 for r in requests_since(x, since) if r.path.endswith("/liking_users"))


def post_lookups(x: XSandbox, since: int) -> int:
    """Batched post lookups (`GET /2/tweets?ids=`) since request `since`."""
    return sum(1 for r in requests_since(x, since) if r.path == "/2/tweets")


async def naive_tick(conn: aiosqlite.Connection, x: XSandbox, now: float) -> TickFigures:
    """Read every digest, keep the due ones, fetch likers once per due digest (no sharing, no cache)."""
    before = len(x.requests)
    started = time.perf_counter()
    async with conn.execute("SELECT * FROM digests") as cursor:
        rows = list(await cursor.fetchall())
    due = [row for row in rows if row["next_run_at"] is not None and row["next_run_at"] <= now]
    async with aiohttp.ClientSession() as session:
        client = x_client(session, x.base_url, cache=False)
        for row in due:
            await client.liking_users(row["subject_id"])
    seconds = time.perf_counter() - started
    sent = len(x.requests) - before
    return TickFigures("naive: all rows, likers per due digest (no posting)", seconds, len(rows),
                       likers_requests(x, before), post_lookups(x, before), sent, 0)


async def measure(scale: Scale) -> list[TickFigures]:
    clock = SettableClock()
    figures = []
    with tempfile.TemporaryDirectory(prefix="likelens-bench-digests-") as folder:
        async with TimedEmulator() as emulator, \
                bench_sandbox(clock=clock.timestamp) as x:
            posts = add_owner_posts(x, scale.posts, clock())
            settings = emulator_settings(emulator, x.base_url, Path(folder) / "likelens.db")
            channels = [emulator.add_channel(f"digests-{k}") for k in range(channel_count(scale))]
            async with running_bot(emulator, settings, clock=clock) as bot:
                scheduler = scheduler_of(bot)
                await scheduler.stop()
                conn = bot.store.conn
                await insert_digests(conn, scale, posts, guild_id=int(emulator.guild.id),
                                     channel_ids=[int(c.id) for c in channels], now=clock.timestamp())
                # The naive scheduler reads the same database through its own connection.
                async with aiosqlite.connect(settings.database_path) as naive_conn:
                    naive_conn.row_factory = aiosqlite.Row
                    figures.append(await naive_tick(naive_conn, x, clock.timestamp()))
                due_posts = {posts[n % scale.posts] for n in due_indexes(scale)}
                check(len(due_posts) == scale.due_posts, "the due digests do not cover the intended posts")
                for label in ("LikeLens tick 1 (records baselines)", "LikeLens tick 2 (3 new likers each)"):
                    if label.startswith("LikeLens tick 2"):
                        for post_id in due_posts:
                            x.add_likers(post_id, 3)
                        clock.advance(hours=6)
                    posted_before = sum(len(emulator.messages_in(c)) for c in channels)
                    before = len(x.requests)
                    with schema_checks_off():
                        report = await scheduler.tick()
                    figures.append(TickFigures(
                        label, report.seconds, report.rows_read, likers_requests(x, before),
                        post_lookups(x, before), len(x.requests) - before,
                        sum(len(emulator.messages_in(c)) for c in channels) - posted_before,
                    ))
    return figures


def check_likelens(scale: Scale, tick: TickFigures, *, posting: bool) -> None:
    check(tick.rows_read == scale.due, f"{tick.label}: read {tick.rows_read} rows, {scale.due} were due")
    check(tick.likers_requests == scale.due_posts,
          f"{tick.label}: {tick.likers_requests} likers requests for {scale.due_posts} distinct due posts")
    batches = math.ceil(scale.due_posts / 100)
    check(tick.post_lookups == batches,
          f"{tick.label}: {tick.post_lookups} post lookups for {scale.due_posts} distinct due posts "
          f"({batches} batches)")
    check(tick.all_requests == tick.likers_requests + tick.post_lookups,
          f"{tick.label}: {tick.all_requests} X requests, other than likers and batched post lookups")
    if posting:
        check(tick.posted == scale.due,
              f"{tick.label}: posted {tick.posted} messages for {scale.due} due digests")


async def run(quick: bool) -> list[Table]:
    scale = Scale(1_000, 100, 10, 5) if quick else Scale(10_000, 1_000, 100, 50)
    naive, first, second = await measure(scale)
    check_likelens(scale, first, posting=False)
    check_likelens(scale, second, posting=True)
    check(naive.likers_requests == scale.due, "the naive scheduler did not fetch once per due digest")
    table = Table(
        f"5b. Digest tick: {scale.digests:,} digests over {scale.posts:,} posts, {scale.due} due over "
        f"{scale.due_posts} posts",
        ["scheduler", "tick ms", "rows read", "likers requests", "batched post lookups", "all X requests",
         "messages posted",
         "likers requests vs naive", "all X requests vs naive"],
    )
    table.add(naive.label, naive.seconds * 1000, f"{naive.rows_read:,}", naive.likers_requests,
              naive.post_lookups, naive.all_requests, naive.posted, "×1.00", "×1.00")
    for tick in (first, second):
        table.add(tick.label, tick.seconds * 1000, tick.rows_read, tick.likers_requests, tick.post_lookups,
                  tick.all_requests, tick.posted, ratio(tick.likers_requests, naive.likers_requests),
                  ratio(tick.all_requests, naive.all_requests))
    table.notes.append("LikeLens' other X requests are batched post lookups (`GET /2/tweets?ids=`, up to "
                       "100 ids each, app-only bearer budget) for the like counts in the run log: "
                       "ceil(distinct due posts / 100) per tick (was one `GET /2/tweets/:id` per distinct "
                       "due post).")
    table.notes.append("The naive scheduler posts nothing, so its time is reading and fetching only. "
                       "LikeLens ticks timed with the emulator's schema check off.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
