"""Benchmark 9: X requests of /likes top (30 days, 30 posts), three boards a day, against the naive board.

The sandbox account gets 30 posts over the last 30 days, liked by a pool of 80 fans (5 to 40 likers
each, overlapping, so the board has real ties and leaders); its seeded posts are set aside. Before
the second and third boards 5 posts get 2 new likers each. LikeLens (digests/supporters_reading.py:
the real XClient on the real X sandbox, a real SQLite file) reads the period's listing and one
`liking_users` page only for posts with likes it has not recorded; the naive board reads the listing
and one `liking_users` page for every post every time. Both boards must rank the same supporters.
Run: python -m bench.supporters [--quick]
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bench.harness import Table, bench_main, bench_sandbox, check, ratio, requests_since
from bench.x_requests import x_client
from digests.supporters import DAY_SECONDS, LIKE_PRICE, POST_PRICE, USER_PRICE
from digests.supporters_reading import build_board
from store.db import open_database
from store.like_history import LikeHistory
from store.member_links import MemberLinks
from xapi import sandbox
from xapi.client import XClient
from xapi.sandbox import XSandbox

POSTS = 30
FANS = 80
GROWING_POSTS = 5
NEW_LIKERS = 2
RUNS = 3
GUILD = 1


@dataclass
class RunFigures:
    likers_requests: int
    all_requests: int
    likers_returned: int
    posts_listed: int


def seed(x: XSandbox, now: datetime) -> list[str]:
    """POSTS posts of the owner over the last 30 days, each liked by 5-40 of a pool of FANS."""
    rng = random.Random(20261201)
    world = x.world
    for post in world.posts.values():
        if post.author_id == sandbox.OWNER_ID:
            world.deleted_posts.add(post.id)
    fans = [world.new_fan(rng, now - timedelta(days=400)) for _ in range(FANS)]
    ids = []
    for n in range(POSTS):
        post = world.new_post(rng, sandbox.OWNER_ID, now - timedelta(days=29 * n / POSTS, hours=1))
        likers = rng.sample(fans, rng.randint(5, 40))
        for fan in likers:
            world.like(post.id, fan.id)
        post.like_count = len(likers)
        ids.append(post.id)
    return ids


def grow(x: XSandbox, post_ids: list[str], run: int) -> None:
    """GROWING_POSTS posts get NEW_LIKERS new likers each (their like counts follow)."""
    for post_id in post_ids[run * GROWING_POSTS:(run + 1) * GROWING_POSTS]:
        x.add_likers(post_id, NEW_LIKERS)


def count(x: XSandbox, since: int) -> tuple[int, int]:
    sent = requests_since(x, since)
    return sum(1 for r in sent if r.path.endswith("/liking_users")), len(sent)


async def naive_board(client: XClient, x: XSandbox) -> tuple[Counter[str], RunFigures]:
    """The listing, then one liking_users page per post of the period, every time."""
    since = len(x.requests)
    start = time.time() - 30 * DAY_SECONDS
    listing = await client.user_posts(sandbox.OWNER_ID, max_results=100)
    posts = [p for p in listing.items if p.created_at and p.created_at.timestamp() >= start]
    counts: Counter[str] = Counter()
    returned = 0
    for post in posts:
        page = await client.liking_users(post.id, max_results=100)
        returned += len(page.items)
        counts.update(u.id for u in page.items)
    likers, total = count(x, since)
    return counts, RunFigures(likers, total, returned, len(listing.items))


async def measure() -> tuple[list[RunFigures], list[RunFigures]]:
    likelens: list[RunFigures] = []
    naive: list[RunFigures] = []
    with tempfile.TemporaryDirectory(prefix="likelens-bench-top-") as folder:
        conn = await open_database(Path(folder) / "likelens.db")
        try:
            async with bench_sandbox() as x, aiohttp.ClientSession() as session:
                post_ids = seed(x, datetime.now(UTC))
                client = x_client(session, x.base_url, cache=False)
                history, links = LikeHistory(conn), MemberLinks(conn)
                for run in range(RUNS):
                    if run:
                        grow(x, post_ids, run)
                    since = len(x.requests)
                    board = await build_board(client, history, links, guild_id=GUILD,
                                              account_id=sandbox.OWNER_ID, days=30, now=time.time())
                    likers, total = count(x, since)
                    check(len(board.posts) == POSTS, f"the board saw {len(board.posts)} posts, not {POSTS}")
                    cost = board.cost
                    likelens.append(RunFigures(likers, total, cost.likers_returned, cost.posts_listed))
                    expected, figures = await naive_board(client, x)
                    naive.append(figures)
                    check({s.liker_id: s.posts_liked for s in board.supporters} == dict(expected),
                          f"run {run + 1}: LikeLens' board differs from the naive board")
        finally:
            await conn.close()
    return likelens, naive


def total(runs: list[RunFigures]) -> RunFigures:
    return RunFigures(sum(r.likers_requests for r in runs), sum(r.all_requests for r in runs),
                      sum(r.likers_returned for r in runs), sum(r.posts_listed for r in runs))


def dollars(figures: RunFigures, price: float) -> float:
    return figures.posts_listed * POST_PRICE + figures.likers_returned * price


async def run(quick: bool) -> list[Table]:
    likelens, naive = await measure()
    check(likelens[0].likers_requests == POSTS, "the first board did not read each post once")
    for later in likelens[1:]:
        check(later.likers_requests == GROWING_POSTS, "a later board read posts without new likes")
    table = Table(
        f"9. /likes top over {POSTS} posts (30 days), {RUNS} boards in a day: X requests",
        ["board", "LikeLens liking_users", "naive liking_users", "LikeLens all requests",
         "naive all requests", "requests vs naive", "likers returned (LikeLens / naive)"],
    )
    growing = f" ({GROWING_POSTS} posts with new likes)"
    rows = [(f"board {n}" + (" (first)" if n == 1 else growing), ours, theirs)
            for n, (ours, theirs) in enumerate(zip(likelens, naive, strict=True), start=1)]
    rows.append(("**day total**", total(likelens), total(naive)))
    for label, ours, theirs in rows:
        table.add(label, ours.likers_requests, theirs.likers_requests, ours.all_requests, theirs.all_requests,
                  ratio(ours.all_requests, theirs.all_requests),
                  f"{ours.likers_returned} / {theirs.likers_returned}")
    day_ours, day_theirs = total(likelens), total(naive)
    table.notes.append("All requests = one `GET /2/users/{id}/tweets` listing per board plus the "
                       "liking_users pages. Both boards rank the same supporters in every run (checked).")
    table.notes.append(
        f"Items at X's prices before its same-day dedup: LikeLens ${dollars(day_ours, LIKE_PRICE):.2f}-"
        f"${dollars(day_ours, USER_PRICE):.2f}, naive ${dollars(day_theirs, LIKE_PRICE):.2f}-"
        f"${dollars(day_theirs, USER_PRICE):.2f} (likes $0.001 or users $0.010 each, posts $0.005). "
        "X bills an item once per UTC day, so within one day the naive board's extra cost is rate budget "
        "(75 liking_users per 15 minutes) more than money; across days it is both.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
