"""Benchmark 13a: claiming due digests (store/digest_claims.py) with 1 and 3 processes on one database.

3,000 due digests over 1,000 subjects (3 per subject; quick: 300 over 100). Each "process" is a
store of its own (its own SQLite connection, or its own asyncpg pool on one PostgreSQL schema)
claiming 200 at a time, as a tick does, until nothing is left; the 3 claim at once. Checked: every
digest claimed exactly once, every subject by one process. Timed: each claim transaction (p50,
p99), against one process alone on the same engine in the same run. PostgreSQL runs when PGHOST
(or LIKELENS_TEST_POSTGRES_URL) names a server.
Run: python -m bench.digest_claims [--quick]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.harness import Table, bench_main, check, percentile, ratio
from store import digest_claims as claims
from store import digests
from store.db import Store, open_store
from tests import postgres

PER_SUBJECT = 3
BATCH = 200
NOW = 1_000_000.0


async def fill(store: Store, subjects: int) -> None:
    rows = [(1, subject * PER_SUBJECT + n, 1, "post", str(10_000 + subject), 3600, NOW - 60,
             NOW - subject % 50) for subject in range(subjects) for n in range(PER_SUBJECT)]
    async with store.conn.transaction():
        await store.conn.execute("DELETE FROM digests")
        await store.conn.executemany(
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            "created_at, next_run_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


async def drain(store: Store, holder: str, latencies: list[float]) -> list[digests.Digest]:
    """Claim BATCH at a time until nothing is left; each claim's seconds go to latencies."""
    got: list[digests.Digest] = []
    while True:
        started = time.perf_counter()
        batch = await claims.claim_due(store.conn, holder, now=NOW, limit=BATCH)
        latencies.append(time.perf_counter() - started)
        if not batch:
            return got
        got += batch


async def measure(path: Path, url: str | None, processes: int, subjects: int) -> tuple[float, float, int]:
    stores = [await open_store(path, url) for _ in range(processes)]
    try:
        await fill(stores[0], subjects)
        latencies: list[float] = []
        batches = await asyncio.gather(*(drain(s, f"p{n}", latencies) for n, s in enumerate(stores)))
    finally:
        for store in stores:
            await store.close()
    ids = Counter(d.id for batch in batches for d in batch)
    check(len(ids) == subjects * PER_SUBJECT and set(ids.values()) == {1},
          f"{processes} processes: not every digest claimed exactly once")
    for batch in batches:
        for subject, count in Counter(d.subject_id for d in batch).items():
            check(count == PER_SUBJECT, f"subject {subject} split between processes")
    return percentile(latencies, 0.5), percentile(latencies, 0.99), len(latencies)


async def run(quick: bool) -> list[Table]:
    subjects = 100 if quick else 1_000
    engines: list[tuple[str, str | None, str | None]] = [("SQLite", None, None)]
    if postgres.server_url() is not None:
        url, schema = await postgres.create_schema()
        engines.append(("PostgreSQL", url, schema))
    table = Table(
        f"13a. Claiming {subjects * PER_SUBJECT:,} due digests over {subjects:,} subjects, {BATCH} a claim",
        ["engine", "processes", "claims", "p50 ms", "p99 ms", "p99 vs 1 process"],
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            for label, engine_url, _ in engines:
                path = Path(folder) / f"{label}.db"
                alone = await measure(path, engine_url, 1, subjects)
                crowd = await measure(path, engine_url, 3, subjects)
                for processes, (p50, p99, count) in ((1, alone), (3, crowd)):
                    table.add(label, processes, count, p50 * 1000, p99 * 1000, ratio(p99, alone[1]))
    finally:
        for _, _, made in engines:
            if made is not None:
                await postgres.drop_schema(made)
    table.notes.append("Every digest was claimed exactly once and every subject by one process (checked). "
                       "The 3 processes run in one event loop on this 2-core machine: their claims "
                       "contend for the database, not for CPUs of their own.")
    if len(engines) == 1:
        table.notes.append("PostgreSQL skipped: no PGHOST.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
