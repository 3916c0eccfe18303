"""Cost of one digest tick: 10,000 digests of which 100 are due (--quick: 1,000 and 10).

A real LikesBot on the Discord emulator and the X sandbox (rate limit 75 per 15 minutes, as X),
a SQLite file in a temporary folder. The digests follow 7 subjects (5 posts, `liked`, `recent`).
Tick 1 records the due digests' baselines; then new likes arrive, the same digests are due
again, and tick 2 posts them. Prints a Markdown table; exit status 1 when a tick read more rows
than were due, read a post's likers more than once, looked up like counts other than in one batch
per 100 due post subjects, sent more X requests than there are subjects to read, or missed a message.

Run: python -m bench.digest_tick [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import requests_since
from digests.scheduler import DigestScheduler, TickReport
from store.engine import Database
from tests.botharness import emulator_settings, running_bot
from tests.e2e.digest_support import SettableClock, scheduler_of
from tests.emulator import DiscordEmulator, schema
from xapi import sandbox
from xapi.sandbox import XSandbox

POSTS = (sandbox.POST_7_LIKES, sandbox.POST_100_LIKES, sandbox.POST_MANY_LIKES, sandbox.POST_NO_LIKES,
         sandbox.POST_OWNER_PINNED)
SUBJECTS = [("post", p) for p in POSTS] + [("liked", ""), ("recent", "")]
# X requests a tick may need at most: likers per post, one batched like-count lookup per 100 posts,
# liked (me + liked posts), recent (its posts + likers of up to 10 posts).
MAX_X_REQUESTS = len(POSTS) + math.ceil(len(POSTS) / 100) + 2 + 1 + 10


async def insert_digests(
    conn: Database, *, guild_id: int, channel_ids: list[int], total: int, due: int, now: float,
) -> None:
    rows = []
    for n in range(total):
        kind, subject_id = SUBJECTS[n % len(SUBJECTS)]
        # The first `due` rows are due now; the others after both ticks (tick 2 is 6 hours later).
        next_run = now - 1 if n < due else now + 8 * 3600 + n
        # One digest per channel and subject (a UNIQUE index): row n goes to channel n // len(SUBJECTS);
        # the due rows' channels exist, the others' are never read.
        channel = n // len(SUBJECTS)
        rows.append((guild_id, channel_ids[channel] if channel < len(channel_ids) else channel, kind,
                     subject_id, now, next_run))
    await conn.executemany(
        "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
        "created_at, next_run_at) VALUES (?, ?, 1, ?, ?, 21600, ?, ?)", rows,
    )
    await conn.commit()


class ValidationTimer:
    """Times the emulator's jsonschema check of each payload (same process): it is not the bot's cost."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._check = schema.body_errors

    def __call__(self, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._check(*args)
        finally:
            self.seconds += time.perf_counter() - started


# (label, report, messages posted, Discord requests, seconds of the emulator's schema check)
Result = tuple[str, TickReport, int, int, float]


def x_breakdown(x: XSandbox, since: int) -> tuple[int, int, int]:
    """(likers requests, distinct posts whose likers were read, batched post lookups) since `since`."""
    sent = requests_since(x, since)
    likers = [r.path for r in sent if r.path.endswith("/liking_users")]
    return len(likers), len(set(likers)), sum(1 for r in sent if r.path == "/2/tweets")


def due_post_subjects(total: int, due: int) -> int:
    """Distinct post subjects among the due digests (the first `due` rows)."""
    return len({SUBJECTS[n % len(SUBJECTS)][1] for n in range(min(due, total))
                if SUBJECTS[n % len(SUBJECTS)][0] == "post"})


async def measure(total: int, due: int) -> tuple[list[Result], list[tuple[int, int, int]], float, bool]:
    clock = SettableClock()
    results: list[Result] = []
    breakdowns: list[tuple[int, int, int]] = []
    timer = ValidationTimer()
    schema.body_errors = timer  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        async with DiscordEmulator() as emulator, XSandbox(clock=clock.timestamp, record_bodies=False) as x:
            settings = emulator_settings(emulator, x.base_url, Path(folder) / "likelens.db")
            channels = [emulator.add_channel(f"digests-{k}") for k in range(math.ceil(due / len(SUBJECTS)))]
            async with running_bot(emulator, settings, clock=clock) as bot:
                scheduler: DigestScheduler = scheduler_of(bot)
                await scheduler.stop()
                await insert_digests(
                    bot.store.conn, guild_id=int(emulator.guild.id),
                    channel_ids=[int(c.id) for c in channels], total=total, due=due, now=clock.timestamp(),
                )
                started = time.perf_counter()
                async with bot.store.conn.execute("SELECT * FROM digests") as cursor:
                    await cursor.fetchall()
                full_scan = time.perf_counter() - started
                for label in ("tick 1 (baselines)", "tick 2 (new likes)"):
                    if label.startswith("tick 2"):
                        for post in POSTS:
                            x.add_likers(post, 3)
                        x.add_liked_posts(2)
                        clock.advance(hours=6)
                    before = sum(len(emulator.messages_in(c)) for c in channels)
                    sent_before = len(x.requests)
                    discord_before = len(emulator.requests)
                    timer.seconds = 0.0
                    report = await scheduler.tick()
                    report.x_requests = len(x.requests) - sent_before
                    breakdowns.append(x_breakdown(x, sent_before))
                    posted = sum(len(emulator.messages_in(c)) for c in channels) - before
                    discord_requests = len(emulator.requests) - discord_before
                    results.append((label, report, posted, discord_requests, timer.seconds))
    # One Discord request per message: no history read before a fresh run's send.
    ok = all(r.rows_read == due and r.x_requests <= MAX_X_REQUESTS and posted == due and requests == due
             for _, r, posted, requests, _ in results)
    # One likers request per distinct post read (post subjects and `recent`'s posts share them), and the
    # due post subjects' like counts in one batched lookup per 100 posts.
    batches = math.ceil(due_post_subjects(total, due) / 100)
    ok = ok and all(likers == distinct and lookups == batches for likers, distinct, lookups in breakdowns)
    return results, breakdowns, full_scan, ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 digests of which 10 are due")
    quick = parser.parse_args().quick
    total, due = (1_000, 10) if quick else (10_000, 100)
    results, breakdowns, full_scan, ok = asyncio.run(measure(total, due))
    print(f"| digest tick ({total:,} digests, {due} due, {len(SUBJECTS)} subjects) | ms | of which the "
          "emulator's schema check, ms | rows read | likers requests | batched post lookups | X requests "
          "(all) | Discord requests | messages posted |")
    print("|---|---|---|---|---|---|---|---|---|")
    for result, (likers, _, lookups) in zip(results, breakdowns, strict=True):
        label, report, posted, requests, checking = result
        ms = report.seconds * 1000
        print(f"| {label} | {ms:.1f} | {checking * 1000:.1f} | {report.rows_read} | {likers} | {lookups} "
              f"| {report.x_requests} | {requests} | {posted} |")
    print(f"\nFor scale: reading all {total:,} digest rows takes {full_scan * 1000:.1f} ms; a tick reads "
          "only the due ones (index on next_run_at).")
    if not ok:
        print(f"\n**FAILED**: a tick read other than {due} rows, sent more than {MAX_X_REQUESTS} X requests, "
              "read a post's likers twice, looked up like counts other than once per 100 due posts, "
              "posted other than one message per due digest, or sent Discord more than those messages.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
