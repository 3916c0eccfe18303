"""Benchmark 10: the extra latency per X request of the shared rate budgets (store/x_budgets.py).

One XClient sends sequential GET /2/users/me to the local X sandbox (no cache, a limit high
enough never to refuse), timed per request end to end: with the in-memory budgets (the baseline,
what a client without a ledger does), then with the store ledger on SQLite (a file in a temporary
folder) and on PostgreSQL (a schema of its own; only when PGHOST is set). Each ledger request
costs one take (an UPDATE … RETURNING) before and one record (an upsert) after X answers.
A last row has two clients on two stores of one PostgreSQL database (two processes) sending at
once, the contention case. Run: python -m bench.x_budgets [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from bench.harness import Table, bench_main, check, median, percentile, ratio
from store.db import Store, open_store
from store.x_budgets import StoreBudgets
from tests import postgres
from xapi.auth import OAuth1UserAuth
from xapi.client import XClient
from xapi.ratelimit import BudgetLedger
from xapi.sandbox import (
    OWNER_ID,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    XSandbox,
)

NO_LIMIT = 10**9


def user_auth() -> OAuth1UserAuth:
    return OAuth1UserAuth(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET)


def client(session: aiohttp.ClientSession, sandbox: XSandbox, ledger: BudgetLedger | None) -> XClient:
    return XClient(
        session, base_url=sandbox.base_url, user_auth=user_auth(), cache_ttl=0, budget_ledger=ledger)


async def timed(x: XClient, runs: int) -> list[float]:
    """Milliseconds per request, after a warm-up request (connections opened, the window known)."""
    check((await x.me()).id == OWNER_ID, "the sandbox answered another account")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await x.me()
        times.append((time.perf_counter() - started) * 1000)
    return times


@contextlib.asynccontextmanager
async def stores(engine: str, folder: Path, count: int) -> AsyncIterator[list[Store]]:
    """count stores on one database of engine (each as another process opens it)."""
    async with contextlib.AsyncExitStack() as stack:
        url = None
        if engine == "postgresql":
            url = await stack.enter_async_context(postgres.fresh_schema())
        opened = [await open_store(folder / "likelens.db", url) for _ in range(count)]
        for store in opened:
            stack.push_async_callback(store.close)
        yield opened


async def run(quick: bool) -> list[Table]:
    runs = 50 if quick else 400
    engines = ["sqlite"] + (["postgresql"] if postgres.server_url() else [])
    table = Table(
        f"10. Shared X rate budgets: ms per X request, {runs} sequential GET /2/users/me (median, p90)",
        ["budgets", "median ms", "p90 ms", "extra median ms", "vs in-memory"])
    async with XSandbox(rate_limit=NO_LIMIT) as sandbox, aiohttp.ClientSession() as session:
        baseline_times = await timed(client(session, sandbox, None), runs)
        baseline = median(baseline_times)
        table.add("baseline: in memory (one process)", baseline, percentile(baseline_times, 0.9), 0.0,
                  ratio(baseline, baseline))
        for engine in engines:
            with tempfile.TemporaryDirectory() as folder:
                async with stores(engine, Path(folder), 2) as (first, second):
                    ledgers = [StoreBudgets(first.conn), StoreBudgets(second.conn)]
                    try:
                        times = await timed(client(session, sandbox, ledgers[0]), runs)
                        middle = median(times)
                        table.add(f"store ledger, {engine}", middle, percentile(times, 0.9),
                                  middle - baseline, ratio(middle, baseline))
                        pair = [client(session, sandbox, ledger) for ledger in ledgers]
                        both = await asyncio.gather(*(timed(x, runs // 2) for x in pair))
                        times = [t for one in both for t in one]
                        middle = median(times)
                        table.add(f"store ledger, {engine}, two processes at once", middle,
                                  percentile(times, 0.9), middle - baseline, ratio(middle, baseline))
                        row = await ledgers[1].get("me", user_auth().identity)
                        check(row is not None and row.remaining < row.limit, "the ledger recorded nothing")
                    finally:
                        for ledger in ledgers:
                            await ledger.close()
    if len(engines) == 1:
        table.notes.append("PostgreSQL rows missing: no PGHOST set (see tests/postgres.py).")
    table.notes.append("Sandbox and client share this machine's two cores; the two-process rows run both "
                       "clients in one event loop, so they show the ledger's contention, not two CPUs.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
