"""Live likes (issue 11): like-to-Discord latency, likes lost and doubled across stream drops, X requests
per hour against an hourly-polling digest, and likers of a 500-like post seen by live against polling.

A real LikesBot on the Discord emulator and the X sandbox (real clock), a SQLite file in a temporary
folder. (a) 1,000 likes (--quick: 200) over 50 posts of the account, ~12 a second, one live `recent`
digest: the time from the sandbox's like (its like.create event emitted) to the emulator holding the
message that lists the liker. (b) 500 likes (--quick: 100) with 20 (--quick: 5) stream drops at random
moments: likers never posted (lost) and posted twice (doubled). (c) X requests while (a) ran, per
hour, against what one hourly tick of a polling `recent` digest of the same account sends (both
counted at the sandbox). (d) a post whose likes go from 7 to 507: likers the live digest posts against
those the polling post digest's next run posts (X lists at most 100 a post). Exit status 1 when a like
is lost or doubled, when the p99 latency is over 10 s, or when live sees fewer likers than polling.

Run: python -m bench.live_likes [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import LikesBot
from digests.live_feed import LiveFeed
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e.digest_support import scheduler_of
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

LINK = re.compile(r"\]\(https://x\.com/([^)]+)\)")
P99_GOAL_SECONDS = 10.0


def feed_of(bot: LikesBot) -> LiveFeed:
    feed = getattr(bot.get_cog("DigestsCog"), "live", None)
    assert feed is not None
    return feed  # type: ignore[no-any-return]


class Arrivals:
    """When each liker first appeared in a channel's messages (polled every 10 ms), and how often."""

    def __init__(self, emulator: DiscordEmulator, channel: str) -> None:
        self.emulator, self.channel = emulator, channel
        self.first_seen: dict[str, float] = {}
        self.times_listed: dict[str, int] = {}
        self._read: set[str] = set()
        self.messages = 0

    def poll(self) -> None:
        now = time.perf_counter()
        for message in self.emulator.messages_in(self.emulator.channel(self.channel)):
            if message.id in self._read:
                continue
            self._read.add(message.id)
            self.messages += 1
            for embed in message.data.get("embeds", []):
                for name in LINK.findall(embed.get("description", "")):
                    self.first_seen.setdefault(name.replace("\\", ""), now)
                    self.times_listed[name] = self.times_listed.get(name, 0) + 1

    async def run(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(0.01)


async def add_live(emulator: DiscordEmulator, subject: str, channel: str) -> None:
    result = await InteractionDriver(emulator).slash(
        "digest add", subject=subject, channel=channel, every="live")
    assert "created" in result.content, result.content


async def likes(x: XSandbox, posts: list[str], count: int, *, per_second: float, rng: random.Random,
                drops: int = 0) -> dict[str, float]:
    """count likes over posts at per_second; returns liker username -> perf_counter at the like."""
    drop_at = set(rng.sample(range(count), drops)) if drops else set()
    made: dict[str, float] = {}
    for n in range(count):
        post = rng.choice(posts)
        (liker_id,) = x.add_likers(post, 1)
        made[x.world.users[liker_id].username] = time.perf_counter()
        if n in drop_at:
            x.drop_streams()
        await asyncio.sleep(1 / per_second)
    return made


async def settle(arrivals: Arrivals, made: dict[str, float], within: float = 30.0) -> None:
    deadline = time.perf_counter() + within
    # Polled: the likers arrive in the emulator's messages, which signal nothing.
    while time.perf_counter() < deadline and not set(made) <= set(arrivals.first_seen):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # a later flush would show a double
    arrivals.poll()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def bench(quick: bool) -> tuple[list[str], bool]:
    total, lossy, drops = (200, 100, 5) if quick else (1000, 500, 20)
    rng = random.Random(11)
    rows: list[str] = []
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        async with DiscordEmulator() as emulator, XSandbox(record_bodies=False, rate_limit=100_000) as x:
            now = datetime.now(UTC)
            posts = [x.world.new_post(rng, sandbox.OWNER_ID, now).id for _ in range(50)]
            emulator.add_channel("live-recent")
            emulator.add_channel("live-post")
            settings = emulator_settings(emulator, x.base_url, Path(folder) / "likelens.db")
            async with running_bot(emulator, settings) as bot:
                await scheduler_of(bot).stop()
                feed = feed_of(bot)
                await add_live(emulator, "recent", "live-recent")
                arrivals = Arrivals(emulator, "live-recent")
                watcher = asyncio.create_task(arrivals.run())
                # (a) latency
                started = len(x.requests)
                t0 = time.perf_counter()
                made = await likes(x, posts, total, per_second=12.0, rng=rng)
                await settle(arrivals, made)
                elapsed_hours = (time.perf_counter() - t0) / 3600
                live_requests = list(x.requests)[started:]
                latencies = [arrivals.first_seen[u] - t for u, t in made.items() if u in arrivals.first_seen]
                lost_a = len(set(made) - set(arrivals.first_seen))
                p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
                messages = arrivals.messages
                rows.append("| measure | value |\n|---|---|")
                rows.append(f"| (a) likes, posts | {total:,} over 50 posts, 12/s |")
                rows.append(f"| (a) like → Discord p50 / p99 | {p50 * 1000:,.0f} ms / {p99 * 1000:,.0f} ms |")
                rows.append(f"| (a) messages for {total:,} likes; likes never posted | {messages:,}; "
                            f"{lost_a} |")
                if lost_a:
                    missing = sorted(set(made) - set(arrivals.first_seen))
                    print("never posted:", missing, "stream:", feed.stream.stats, file=sys.stderr)
                ok &= p99 <= P99_GOAL_SECONDS and lost_a == 0
                # (b) drops
                before_drops = feed.stream.stats.drops
                made_b = await likes(x, posts, lossy, per_second=12.0, rng=rng, drops=drops)
                await settle(arrivals, made_b)
                lost = len(set(made_b) - set(arrivals.first_seen))
                doubled = sum(1 for u in made_b if arrivals.times_listed.get(u, 0) > 1)
                rows.append(f"| (b) {lossy:,} likes, {feed.stream.stats.drops - before_drops} stream drops: "
                            f"lost / doubled | {lost} / {doubled} |")
                ok &= lost == 0 and doubled == 0
                # (d) 500 new likes of one post
                target = sandbox.POST_7_LIKES
                await add_live(emulator, f"https://x.com/{sandbox.OWNER_USERNAME}/status/{target}",
                               "live-post")
                result = await InteractionDriver(emulator).slash(
                    "digest add", subject=target, channel="digests", every="1h")
                digest_id = int(re.findall(r"#(\d+)", result.content)[0])
                await scheduler_of(bot).run_now(digest_id)  # its baseline
                post_arrivals = Arrivals(emulator, "live-post")
                post_arrivals.poll()
                seen_before = set(post_arrivals.first_seen)
                new_likers = []
                for _ in range(50):
                    new_likers += [x.world.users[i].username for i in x.add_likers(target, 10)]
                    await asyncio.sleep(0.2)
                await settle(post_arrivals, dict.fromkeys(new_likers, 0.0))
                live_seen = len(set(new_likers) & (set(post_arrivals.first_seen) - seen_before))
                polled = await scheduler_of(bot).run_now(digest_id)
                rows.append(f"| (d) new likers of a post going 7 → 507 likes: live / polling | "
                            f"{live_seen} / {polled.posted} (×{live_seen / max(polled.posted, 1):.1f}) |")
                ok &= live_seen >= polled.posted
                # (c) X requests per hour: live (what (a) sent) against one hourly tick of a polling digest
                result = await InteractionDriver(emulator).slash(
                    "digest add", subject="recent", channel="live-post", every="1h")
                polling_id = int(re.findall(r"#(\d+)", result.content)[0])
                await scheduler_of(bot).run_now(polling_id)  # the baseline
                tick_start = len(x.requests)
                report = await scheduler_of(bot).run_now(polling_id)
                polling_per_hour = len(x.requests) - tick_start
                # The stream is one connection held open: an hour costs its connects, not one per like.
                live_per_hour = max(1, len(live_requests))
                rows.append(f"| (c) X requests, live `recent`, during (a) ({elapsed_hours * 60:.1f} min, "
                            f"{total:,} likes) | {len(live_requests)} "
                            f"({', '.join(sorted({r.path for r in live_requests})) or 'none'}) |")
                rows.append(f"| (c) X requests per hour, polling `recent` every 1h (one run, "
                            f"{report.status}; reads at most 10 of the 50 posts a run) | {polling_per_hour} "
                            f"(×{polling_per_hour / live_per_hour:.0f} the live stream's) |")
                watcher.cancel()
    return rows, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows, ok = asyncio.run(bench(args.quick))
    print("\n".join(rows))
    print("\n- kill -9 of the bot process: bench/live_kills.py.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
