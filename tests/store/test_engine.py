"""The store's database interface behaves the same on SQLite and PostgreSQL (tests/engines.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store.db import Store
from store.engine import IntegrityError
from store.postgres import postgres_sql
from store.transactions import transaction
from tests.engines import committed_rows, open_test_store


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


def test_placeholders_are_numbered_outside_string_literals() -> None:
    assert postgres_sql("SELECT ? , 'a?b', 'it''s ?', ?") == "SELECT $1 , 'a?b', 'it''s ?', $2"


async def test_rows_are_tuples_and_writes_count_their_rows(store: Store) -> None:
    conn = store.conn
    rows = [("a", "1"), ("b", "2"), ("c", "3")]
    await conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)
    async with conn.execute("SELECT key, value FROM meta ORDER BY key") as cursor:
        assert await cursor.fetchall() == rows
    changed = await conn.execute("UPDATE meta SET value = 'x' WHERE key IN (?, ?)", ("a", "b"))
    assert changed.rowcount == 2
    returned = await conn.execute("DELETE FROM meta WHERE key = ? RETURNING value", ("c",))
    assert returned.rows == [("3",)] and returned.rowcount == 1
    many = await conn.executemany("DELETE FROM meta WHERE key = ?", [("a",), ("b",), ("zz",)])
    assert many.rowcount == 2


async def test_a_unique_violation_is_one_error_type_on_both_engines(store: Store) -> None:
    await store.conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
    with pytest.raises(IntegrityError):
        await store.conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'w')")


async def test_a_failed_transaction_leaves_nothing_and_a_nested_one_joins_it(
    store: Store, tmp_path: Path
) -> None:
    conn = store.conn
    with pytest.raises(RuntimeError):
        async with transaction(conn):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
            async with transaction(conn):
                await conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
            raise RuntimeError("half-way")
    assert await committed_rows(tmp_path, "SELECT COUNT(*) FROM meta") == [(0,)]
    async with transaction(conn):
        await conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        async with transaction(conn):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
        # Inside: the transaction's own writes are read back on its connection.
        assert await conn.execute_fetchall("SELECT COUNT(*) FROM meta") == [(2,)]
    assert await committed_rows(tmp_path, "SELECT COUNT(*) FROM meta") == [(2,)]


async def test_concurrent_transactions_of_two_tasks_do_not_mix(store: Store, tmp_path: Path) -> None:
    conn = store.conn
    inside = asyncio.Event()

    async def failing() -> None:
        async with transaction(conn):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('f1', 'x')")
            inside.set()
            await asyncio.sleep(0.01)
            raise RuntimeError("fails after the other task's write")

    async def succeeding() -> None:
        await inside.wait()
        async with transaction(conn):
            await conn.execute("INSERT INTO meta (key, value) VALUES ('s1', 'y')")

    results = await asyncio.gather(failing(), succeeding(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert await committed_rows(tmp_path, "SELECT key FROM meta") == [("s1",)]
