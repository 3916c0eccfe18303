"""Benchmark 4: memory. RSS growth with 1,000 and 10,000 live paginators; bytes per paginator.

LikeLens: `/likes post` run N times through the emulator (in batches sent at once), each leaving a
paginator message (restart-proof buttons, state in SQLite, live sources in a bounded LRU). Baseline
in the same run: the bare discord.py bot's `/pager`, a message with a two-button View that lives in
discord.py's view store. The emulator forgets each finished interaction (its records would
otherwise count as the bot's memory) and RSS is read after a full garbage collection.
Run: python -m bench.memory [--quick]
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import psutil

from bench.harness import (
    REPO,
    Table,
    TimedEmulator,
    bare_world,
    bench_main,
    check,
    dispatch_all,
    likelens_world,
    ratio,
    schema_checks_off,
    settle,
    wait_acknowledged,
)
from cogs.likes_browse import LIVE_PAGERS, live_pagers
from tests.emulator import Interaction
from xapi import sandbox

BATCH = 50
# Posts with more than one display page of likers: every answer is a paginator.
POSTS = (sandbox.POST_100_LIKES, sandbox.POST_MANY_LIKES)


@dataclass
class Growth:
    count: int
    rss_bytes: int
    views_held: int
    db_bytes: int = 0

    @property
    def per_paginator(self) -> float:
        return self.rss_bytes / self.count


def rss() -> int:
    gc.collect()
    return int(psutil.Process(os.getpid()).memory_info().rss)


def views_held(client: discord.Client) -> int:
    """Messages whose View discord.py's view store keeps (for dispatching their clicks)."""
    store: Any = client._connection._view_store
    return len(store._synced_message_views)


async def open_many(
    emulator: TimedEmulator, count: int, build: Callable[[int], Interaction], what: str
) -> None:
    """Run `count` commands in batches sent at once; each must end with a message that has buttons."""
    for start in range(0, count, BATCH):
        batch = [build(n) for n in range(start, min(count, start + BATCH))]
        await dispatch_all(emulator, batch)
        await wait_acknowledged(emulator, batch, 10, what)
        await settle()
        for interaction in batch:
            message_id = interaction.response_message_id
            message = emulator.messages.get(message_id) if message_id else None
            check(message is not None and bool(message.buttons) and not message.loading,
                  f"a {what} ended without a message with buttons")
        emulator.forget(batch)


def file_size(path: Path | None) -> int:
    """Bytes of a SQLite database with its write-ahead log (0 for no database)."""
    if path is None:
        return 0
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def measure(
    emulator: TimedEmulator, client: discord.Client, sizes: tuple[int, ...], *,
    build: Callable[[int], Interaction], what: str, db: Path | None = None,
) -> list[Growth]:
    """RSS growth (and views held) after sizes[0], sizes[1], … paginators in total."""
    with schema_checks_off():
        # Warm-up: caches, connection pools, SQLite pages and interned strings reach their steady size.
        await open_many(emulator, 200, build, what)
        views_before = views_held(client)
        base, db_base = rss(), file_size(db)
        done = 0
        results = []
        for size in sizes:
            await open_many(emulator, size - done, build, what)
            done = size
            views = views_held(client) - views_before
            results.append(Growth(size, rss() - base, views, file_size(db) - db_base))
    return results


def owner_of(filename: str) -> str:
    """Which part of the process allocated in filename (coarse: by package)."""
    path = filename.replace("\\", "/")
    if "/site-packages/discord/" in path:
        return "discord.py"
    if any(f"/site-packages/{name}/" in path for name in ("aiohttp", "yarl", "multidict")):
        return "aiohttp"
    if "/site-packages/aiosqlite/" in path or "sqlite3" in path:
        return "sqlite"
    if path.startswith(str(REPO / "tests")):
        return "emulator (test harness)"
    if path.startswith(str(REPO)) and not path.startswith(str(REPO / "bench")):
        return "LikeLens (bot, cogs, ui, xapi, store)"
    return "other (asyncio, json, …)"


async def attribute(
    emulator: TimedEmulator, count: int, *, build: Callable[[int], Interaction], what: str,
) -> dict[str, float]:
    """Bytes per paginator still allocated after `count` more commands, by who allocated them."""
    with schema_checks_off():
        await open_many(emulator, 200, build, what)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            await open_many(emulator, count, build, what)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
    shares: dict[str, float] = {}
    for stat in after.compare_to(before, "filename"):
        owner = owner_of(stat.traceback[0].filename)
        shares[owner] = shares.get(owner, 0.0) + stat.size_diff / count
    return shares


async def likelens_growth(sizes: tuple[int, ...]) -> list[Growth]:
    async with likelens_world() as world:
        emulator, moderator = world.emulator, world.driver.moderator
        first = await world.driver.slash("likes post", post=sandbox.POST_100_LIKES)
        check(any(cid.startswith("ll:pg:") for cid in first.response.buttons),
              "/likes post did not answer with a paginator")

        def build(n: int) -> Interaction:
            return emulator.build_slash("likes post", {"post": POSTS[n % len(POSTS)]}, member=moderator)

        growth = await measure(emulator, world.bot, sizes, build=build, what="/likes post",
                               db=world.bot.settings.database_path)
        live = len(live_pagers(world.bot))
        check(live <= LIVE_PAGERS, f"{live} live paginator sources in memory, more than {LIVE_PAGERS}")
        return growth


async def bare_growth(sizes: tuple[int, ...]) -> list[Growth]:
    async with bare_world() as world:
        emulator = world.emulator

        def build(n: int) -> Interaction:
            return emulator.build_slash("pager", {}, member=world.moderator)

        return await measure(emulator, world.bot, sizes, build=build, what="/pager")


async def likelens_shares(count: int) -> dict[str, float]:
    async with likelens_world() as world:
        emulator, moderator = world.emulator, world.driver.moderator

        def build(n: int) -> Interaction:
            return emulator.build_slash("likes post", {"post": POSTS[n % len(POSTS)]}, member=moderator)

        return await attribute(emulator, count, build=build, what="/likes post")


async def bare_shares(count: int) -> dict[str, float]:
    async with bare_world() as world:
        emulator = world.emulator

        def build(n: int) -> Interaction:
            return emulator.build_slash("pager", {}, member=world.moderator)

        return await attribute(emulator, count, build=build, what="/pager")


def shares_table(count: int, bare: dict[str, float], likelens: dict[str, float]) -> Table:
    table = Table(
        f"4b. Memory: who holds it (tracemalloc, {count:,} more paginators after a warm-up; bytes each)",
        ["allocated in", "bare discord.py View", "LikeLens paginator"],
    )
    owners = sorted(set(bare) | set(likelens), key=lambda o: -abs(likelens.get(o, 0.0)))
    for owner in owners:
        table.add(owner, f"{bare.get(owner, 0.0):,.0f}", f"{likelens.get(owner, 0.0):,.0f}")
    table.add("**total**", f"{sum(bare.values()):,.0f}", f"{sum(likelens.values()):,.0f}")
    table.notes.append("Python allocations still live, by the file that made them (innermost frame); "
                       "RSS (table 4) also counts allocator overhead and fragmentation.")
    return table


async def run(quick: bool) -> list[Table]:
    sizes = (100, 400) if quick else (1_000, 10_000)
    runs: list[tuple[str, Callable[[tuple[int, ...]], Awaitable[list[Growth]]]]] = [
        ("bare discord.py View (2 buttons)", bare_growth), ("LikeLens paginator", likelens_growth),
    ]
    results = {name: await measure_one(sizes) for name, measure_one in runs}
    table = Table(
        "4. Memory: RSS growth with live paginators (after gc; emulator records dropped)",
        ["paginators", "bot", "RSS growth (MiB)", "bytes per paginator", "vs bare",
         "views held by discord.py", "SQLite growth (bytes each)"],
    )
    bare = results[runs[0][0]]
    for index, size in enumerate(sizes):
        for name, growths in results.items():
            growth = growths[index]
            table.add(f"{size:,}", name, growth.rss_bytes / 2**20, f"{growth.per_paginator:,.0f}",
                      ratio(growth.per_paginator, bare[index].per_paginator), f"{growth.views_held:,}",
                      f"{growth.db_bytes / size:,.0f}" if growth.db_bytes else "—")
    table.notes.append("RSS is the whole process (bot, emulator, sandbox in one interpreter); each bot "
                       "first ran 200 commands unmeasured. Growth is after the last measured command.")
    table.notes.append(f"Every LikeLens paginator stays clickable: its state is in SQLite, its buttons are "
                       f"DynamicItems; at most {LIVE_PAGERS} sources (with their API page) stay in memory.")
    traced = 100 if quick else 1_000
    return [table, shares_table(traced, await bare_shares(traced), await likelens_shares(traced))]


if __name__ == "__main__":
    bench_main(run)
