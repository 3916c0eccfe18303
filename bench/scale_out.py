"""Scale-out: digest messages posted per second by 1, 2 and 3 `python bot.py` processes on one
PostgreSQL against one process on SQLite; a claim's p99 with 1, 3 and 8 concurrent claimers on one
PostgreSQL; X requests with 3 processes against 1 for the same digests.

The processes run as in tests/e2e/test_scale_out.py (tests/e2e/scale_out_support.py): thirty servers
over three shards on the Discord emulator, the X sandbox, SHARD_COUNT=3 with each process's
SHARD_IDS (one process runs unsharded, as a one-process deployment does). Digests are inserted not
due, then made due in one statement; a row's time runs from that moment to the last digest message.
The emulator's JSON-schema check is off while timed (it runs in this process, ~10 ms a message).
The claims section drives store/digest_claims.py's claim_due directly, one connection pool per
claimer, each finishing what it claimed as a run would (set_schedule clears the claim).

Exit status 1 when a digest was posted other than once, a digest was claimed twice, or a claim was
missed. Without a PostgreSQL (tests/postgres.py: PGHOST or LIKELENS_TEST_POSTGRES_URL) it prints one
line and exits 0.

Run: python -m bench.scale_out [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    BenchFailure,
    Table,
    bench_sandbox,
    check,
    percentile,
    ratio,
    requests_since,
    schema_checks_off,
)
from store import digests as digest_store
from store.db import Store
from store.digest_claims import claim_due
from store.postgres import PostgresDatabase
from store.transactions import transaction
from tests import postgres
from tests.e2e.scale_out_support import (
    FAST_DIGESTS,
    FleetEmulator,
    database_path,
    digest_messages,
    digest_of,
    fleet,
    insert_post_digests,
    owner_posts_with_likes,
    thirty_servers,
)
from tests.emulator import Guild
from xapi import sandbox

NOT_DUE = 10 * 365 * 86400.0
SUBJECTS = 30
# (label, engine, the shard groups of its processes: () runs one process unsharded)
FLEETS: tuple[tuple[str, str, tuple[tuple[int, ...], ...]], ...] = (
    ("1 process, SQLite", "sqlite", ((),)),
    ("1 process, PostgreSQL", "postgresql", ((),)),
    ("2 processes, PostgreSQL", "postgresql", ((0, 1), (2,))),
    ("3 processes, PostgreSQL", "postgresql", ((0,), (1,), (2,))),
)
CLAIMERS = (1, 3, 8)
# Ticks four times a second (a tick's wait is part of each row's time) and a lease no row outlives.
BENCH_DIGESTS = {**FAST_DIGESTS, "LIKELENS_DIGEST_TICK_SECONDS": "0.25",
                 "LIKELENS_DIGEST_CLAIM_SECONDS": "60"}
# One post's digests a claim: many claims per row, so p99 is not just the slowest of a few.
CLAIM_LIMIT = 10
DIGESTS_PER_SUBJECT = 10


@dataclass
class FleetRun:
    label: str
    digests: int
    seconds: float
    likers_reads: int
    other_x_requests: int
    missing: int
    doubled: int
    # The other X requests by endpoint ("GET /2/users/me": 3).
    others: dict[str, int]

    @property
    def x_requests(self) -> int:
        return self.likers_reads + self.other_x_requests

    @property
    def per_second(self) -> float:
        return self.digests / self.seconds if self.seconds else 0.0


@contextlib.asynccontextmanager
async def database(engine: str) -> AsyncIterator[str | None]:
    """A fresh PostgreSQL schema's URL (dropped afterwards), or None for each process's own SQLite."""
    if engine == "sqlite":
        yield None
        return
    url, schema = await postgres.create_schema()
    try:
        yield url
    finally:
        await postgres.drop_schema(schema)


def message_times(emulator: FleetEmulator, guilds: Sequence[Guild], ids: set[int]) -> list[float]:
    """When each digest message of ids was created (the emulator's timestamps, wall clock)."""
    times = []
    for guild in guilds:
        for channel in guild.channels:
            for message in emulator.messages_in(channel):
                if digest_of(message) in ids:
                    times.append(datetime.fromisoformat(str(message.data["timestamp"])).timestamp())
    return times


async def run_fleet(
    label: str, engine: str, groups: tuple[tuple[int, ...], ...], per_guild: int, grace: float,
) -> FleetRun:
    """Post per_guild digests in each of the thirty servers with this fleet; how fast, at what X cost."""
    with tempfile.TemporaryDirectory(prefix="likelens-scale-") as raw:
        root = Path(raw)
        async with database(engine) as url, FleetEmulator(callback_deadline=None) as emulator, \
                bench_sandbox() as x:
            guilds = thirty_servers(emulator)
            posts = owner_posts_with_likes(x, SUBJECTS)
            async with fleet(emulator, x, url, root, shard_groups=groups, variables=BENCH_DIGESTS) as running:
                # SQLite: the one process's own file, opened beside it (WAL lets both in).
                first = running.processes[0].folder
                store = await (Store.connect(url) if url else Store.open(database_path(first)))
                try:
                    ids = await insert_post_digests(store, guilds, posts, per_guild=per_guild, due_in=NOT_DUE,
                                                    spread=0)
                    wanted = set(ids)
                    with schema_checks_off():
                        before = len(x.requests)
                        due_at = time.time()
                        await make_due(store, due_at)
                        deadline = time.monotonic() + 120
                        while not wanted <= set(digest_messages(emulator, guilds)):
                            check(time.monotonic() < deadline,
                                  f"{label}: digests not all posted within 120 s\n{running.logs[-3000:]}")
                            await asyncio.sleep(0.05)
                        # A digest run twice would post again within a tick or two.
                        await asyncio.sleep(grace)
                    sent = requests_since(x, before)
                finally:
                    await store.close()
            shown = digest_messages(emulator, guilds)
            last = max(message_times(emulator, guilds, wanted))
    likers = sum(1 for r in sent if r.path.endswith("/liking_users"))
    others = Counter(f"{r.method} {endpoint_of(r.path)}" for r in sent
                     if not r.path.endswith("/liking_users"))
    return FleetRun(label, len(ids), last - due_at, likers, len(sent) - likers,
                    sum(1 for i in ids if shown[i] == 0), sum(1 for i in ids if shown[i] > 1), dict(others))


def endpoint_of(path: str) -> str:
    """path with its ids as placeholders (/2/tweets/123/liking_users -> /2/tweets/:id/liking_users)."""
    return "/".join(":id" if part.isdigit() and len(part) > 2 else part for part in path.split("/"))


async def make_due(store: Store, now: float) -> None:
    """Every digest due now, in one statement: the fleet's ticks find them together."""
    async with transaction(store.conn):
        await store.conn.execute("UPDATE digests SET next_run_at = ? WHERE every_seconds > 0", (now,))


def median_run(runs: list[FleetRun]) -> FleetRun:
    """The round with the median time (the machine is shared: one round can be far off)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


async def fleets_table(quick: bool) -> Table:
    per_guild = 3 if quick else 20
    # --quick leaves out the 2-process row and runs one round (the CI run stays near half a minute).
    chosen = [f for f in FLEETS if not (quick and f[0].startswith("2 "))]
    grace, rounds = (1.0, 1) if quick else (2.5, 3)
    every: dict[str, list[FleetRun]] = {label: [] for label, _, _ in chosen}
    # Rounds alternate between the fleets, so a busy minute of the machine does not fall on one row.
    for _ in range(rounds):
        for label, engine, groups in chosen:
            every[label].append(await run_fleet(label, engine, groups, per_guild, grace))
    runs = [median_run(every[label]) for label, _, _ in chosen]
    sqlite, single = runs[0], runs[1]
    table = Table(
        f"Digest messages posted per second: {runs[0].digests} digests over {SUBJECTS} posts in 30 servers, "
        f"made due at once (median of {rounds} round{'s' if rounds > 1 else ''})",
        ["fleet", "seconds to the last message", "messages per second", "vs 1 process on SQLite",
         "rounds (s)", "liking_users reads", "other X requests", "X requests vs 1 process on PostgreSQL",
         "missing / posted twice (all rounds)"],
    )
    for run in runs:
        all_rounds = every[run.label]
        table.add(run.label, run.seconds, run.per_second, ratio(run.per_second, sqlite.per_second),
                  " / ".join(f"{r.seconds:.2f}" for r in all_rounds), run.likers_reads, run.other_x_requests,
                  ratio(run.x_requests, single.x_requests),
                  f"{sum(r.missing for r in all_rounds)} / {sum(r.doubled for r in all_rounds)}")
    table.notes += [
        "Seconds run from the statement that made every digest due to the last digest message (the "
        f"ticks run every {BENCH_DIGESTS['LIKELENS_DIGEST_TICK_SECONDS']} s here).",
        "Every process, the PostgreSQL server, the Discord emulator and the X sandbox share the machine's "
        "cores.",
        "A tick claims up to 200 due digests (digests/scheduler.py MAX_DIGESTS_PER_TICK): fewer due than "
        "that, and the first process to tick may take them all.",
        "Other X requests: " + "; ".join(f"{run.label}: " + ", ".join(
            f"{n} × `{e}`" for e, n in sorted(run.others.items())) for run in runs),
    ]
    for label, all_rounds in every.items():
        for run in all_rounds:
            check(run.missing == 0 and run.doubled == 0,
                  f"{label}: {run.missing} digests not posted, {run.doubled} posted twice")
    return table


async def insert_due_digests(store: Store, digests: int) -> None:
    """digests hourly post digests, DIGESTS_PER_SUBJECT a post, in as many channels (rows of 500)."""
    rows = [(1000 + n % 997, 5000 + n, str(10_000 + n // DIGESTS_PER_SUBJECT)) for n in range(digests)]
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        marks = ", ".join("(?, ?, 1, 'post', ?, 3600, 0, 1, ?)" for _ in chunk)
        args = [value for row in chunk for value in (*row, sandbox.OWNER_ID)]
        await store.conn.execute(
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            f"created_at, baseline_done, account_id) VALUES {marks}", args)


async def make_all_due(store: Store) -> None:
    """Every digest due (a minute ago) and nobody's: the start of each claimers' row."""
    await store.conn.execute("UPDATE digests SET next_run_at = ?, claimed_by = NULL, claim_expires_at = NULL",
                             (time.time() - 60,))


async def claim_latencies(url: str, claimers: int) -> tuple[list[float], int, int]:
    """(every claim_due call's seconds, digests claimed in all, digests claimed twice) for claimers
    concurrent claimers, each on its own pool, until every due digest was claimed and finished."""

    latencies: list[float] = []
    claimed: list[int] = []

    async def claimer(number: int) -> None:
        conn = await PostgresDatabase.connect(url, min_size=1, max_size=2)
        try:
            while True:
                started = time.perf_counter()
                got = await claim_due(conn, f"bench:{number}", now=time.time(), limit=CLAIM_LIMIT)
                latencies.append(time.perf_counter() - started)
                if not got:
                    return
                for digest in got:
                    claimed.append(digest.id)
                    # What a finished run does: the next run an hour on, the claim cleared with it.
                    await digest_store.set_schedule(conn, digest.id, next_run_at=time.time() + 3600)
        finally:
            await conn.close()

    await asyncio.gather(*(claimer(n) for n in range(claimers)))
    return latencies, len(set(claimed)), len(claimed) - len(set(claimed))


async def claims_table(quick: bool) -> Table:
    digests = 1000 if quick else 4000
    table = Table(
        f"A claim under contention: {digests} due digests of {digests // DIGESTS_PER_SUBJECT} posts, "
        f"claim_due(limit={CLAIM_LIMIT}) until none is left",
        ["claimers", "claims", "p50 ms", "p99 ms", "p99 vs 1 claimer", "digests claimed", "claimed twice"],
    )
    baseline = 0.0
    async with database("postgresql") as url:
        assert url is not None
        store = await Store.connect(url)
        try:
            await insert_due_digests(store, digests)
            rows = []
            for claimers in CLAIMERS:
                await make_all_due(store)
                rows.append((claimers, *await claim_latencies(url, claimers)))
        finally:
            await store.close()
    for claimers, latencies, claimed, twice in rows:
        p99 = percentile(latencies, 0.99)
        baseline = baseline or p99
        table.add(claimers, len(latencies), percentile(latencies, 0.5) * 1000, p99 * 1000,
                  ratio(p99, baseline), claimed, twice)
        check(claimed == digests and twice == 0,
              f"{claimers} claimers: {claimed} of {digests} digests claimed, {twice} twice")
    table.notes.append("Each claimer is one asyncpg pool (as a process is); the claims include the last, "
                       "empty one of each claimer.")
    return table


async def measure(quick: bool) -> list[Table]:
    return [await fleets_table(quick), await claims_table(quick)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="3 digests a server, no 2-process row, 100 claims a row")
    args = parser.parse_args(argv)
    if postgres.server_url() is None:
        print("_Skipped: no PostgreSQL found (run under pg_virtualenv, or set LIKELENS_TEST_POSTGRES_URL)._")
        return 0
    try:
        tables = asyncio.run(measure(args.quick))
    except BenchFailure as failure:
        print(f"BENCH FAILURE: {failure}", file=sys.stderr)
        return 1
    for table in tables:
        print(table.to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
