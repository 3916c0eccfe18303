"""Leases: of several processes asking at once exactly one holds a job, and a dead holder's lease
is taken over once it expires."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from store import leases
from store.db import Store
from tests.engines import open_test_store


@pytest_asyncio.fixture
async def stores(tmp_path: Path) -> AsyncIterator[list[Store]]:
    # Three processes' stores: each its own connection (SQLite: its own file handle) to one database.
    opened = [await open_test_store(tmp_path) for _ in range(3)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


async def test_of_three_asking_at_once_exactly_one_gets_the_lease(stores: list[Store]) -> None:
    got = await asyncio.gather(*(
        leases.acquire(store.conn, "live-stream", f"p{n}", now=100.0, seconds=30.0)
        for n, store in enumerate(stores)
    ))
    assert sorted(got) == [False, False, True]
    winner = f"p{got.index(True)}"
    assert await leases.holder_of(stores[0].conn, "live-stream", now=101.0) == winner


async def test_the_holder_renews_others_wait_and_take_over_after_expiry(stores: list[Store]) -> None:
    first, second, _ = stores
    assert await leases.acquire(first.conn, "prune", "p0", now=100.0, seconds=30.0)
    assert await leases.acquire(first.conn, "prune", "p0", now=120.0, seconds=30.0)  # renewed to 150
    assert not await leases.acquire(second.conn, "prune", "p1", now=149.0, seconds=30.0)
    # p0 stopped renewing (killed): at 150 its lease is over and p1 takes it.
    assert await leases.acquire(second.conn, "prune", "p1", now=150.0, seconds=30.0)
    assert await leases.holder_of(first.conn, "prune", now=151.0) == "p1"
    assert not await leases.acquire(first.conn, "prune", "p0", now=151.0, seconds=30.0)


async def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(stores: list[Store]) -> None:
    first, second, _ = stores
    assert await leases.acquire(first.conn, "sync", "p0", now=100.0, seconds=30.0)
    await leases.release(second.conn, "sync", "p1")  # not p1's: nothing changes
    assert await leases.holder_of(second.conn, "sync", now=101.0) == "p0"
    await leases.release(first.conn, "sync", "p0")
    assert await leases.holder_of(second.conn, "sync", now=101.0) is None
    assert await leases.acquire(second.conn, "sync", "p1", now=101.0, seconds=30.0)
