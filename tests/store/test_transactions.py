"""The store's writes on one shared connection: a failed multi-statement write leaves nothing behind,
even while another coroutine writes (and commits) at the same time."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store import digests
from store.db import Store
from store.engine import Database, IntegrityError
from store.meta import get_meta, set_meta
from store.transactions import transaction
from tests.engines import committed_rows, open_test_store


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def fail_updates_of_digests(conn: Database) -> None:
    """A real SQLite failure in the last statement of finish_run (as a full disk would be)."""
    await conn.execute(
        "CREATE TEMP TRIGGER fail_digest_update BEFORE UPDATE ON digests "
        "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )


@pytest.mark.sqlite_only  # the failure is a SQLite trigger; PostgreSQL's transactions are per connection
async def test_a_failed_finish_run_leaves_nothing_while_another_coroutine_commits(
    store: Store, tmp_path: Path
) -> None:
    digest = await digests.add_digest(
        store.conn, guild_id=1, channel_id=2, creator_id=3, subject_kind="post", subject_id="9",
        every_seconds=3600, now=1000.0,
    )
    run = await digests.begin_run(
        store.conn, digest.id, now=1000.0, kind="baseline", item_ids=[f"u{n}" for n in range(20)],
        items_found=20, like_count=20, payload="{}",
    )
    await fail_updates_of_digests(store.conn)

    async def other_writer() -> None:
        # Single-statement writes that commit at each await: they used to commit finish_run's half.
        for n in range(10):
            await set_meta(store.conn, f"k{n}", "v")

    results = await asyncio.gather(
        digests.finish_run(store.conn, run, message_id=5, now=1001.0, next_run_at=4600.0),
        other_writer(), return_exceptions=True,
    )
    assert isinstance(results[0], sqlite3.Error | IntegrityError) and results[1] is None
    # What another process (or the next start) reads from the file:
    with sqlite3.connect(tmp_path / "likelens.db") as fresh:
        assert fresh.execute("SELECT COUNT(*) FROM digest_items").fetchone() == (0,)
        assert fresh.execute("SELECT status FROM digest_runs WHERE id = ?", (run.id,)).fetchone() == (
            "pending",)
        assert fresh.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone() == (10,)
    assert await digests.pending_run(store.conn, digest.id) == run


async def test_a_transaction_that_raises_is_rolled_back_and_the_other_one_commits(
    store: Store, tmp_path: Path
) -> None:
    entered = asyncio.Event()

    async def failing() -> None:
        async with transaction(store.conn):
            await store.conn.execute("INSERT INTO meta (key, value) VALUES ('a1', 'x')")
            entered.set()
            await asyncio.sleep(0)
            await store.conn.execute("INSERT INTO meta (key, value) VALUES ('a2', 'x')")
            raise RuntimeError("the caller failed half-way")

    async def succeeding() -> None:
        await entered.wait()
        async with transaction(store.conn):
            await store.conn.execute("INSERT INTO meta (key, value) VALUES ('b1', 'y')")

    results = await asyncio.gather(failing(), succeeding(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert await committed_rows(tmp_path, "SELECT key FROM meta ORDER BY key") == [("b1",)]


async def test_a_nested_transaction_joins_the_outer_one(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with transaction(store.conn):
            await set_meta(store.conn, "inner", "written inside")
            raise RuntimeError("outer fails")
    assert await get_meta(store.conn, "inner") is None
    async with transaction(store.conn):
        await set_meta(store.conn, "inner", "kept")
    assert await get_meta(store.conn, "inner") == "kept"
