"""Which database engine the current test runs on, and its store.

Tests of the store, digests, accounts and live likes run twice, on SQLite and on PostgreSQL
(tests/conftest.py parametrizes `db_engine`). Everything a test opens through `open_test_store` or
`tests.botharness.emulator_settings` then uses that engine: on PostgreSQL, a schema of the test's
own (tests/postgres.py), shared by every bot the test starts (a restart finds its data).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from store.db import Store, open_store
from store.engine import Database
from store.postgres import postgres_sql
from tests import postgres

_current_url: str | None = None
T = TypeVar("T")


def current_url() -> str | None:
    """The current test's PostgreSQL URL, or None on SQLite."""
    return _current_url


async def open_test_store(folder: Path) -> Store:
    """The current test's store: its PostgreSQL schema, or a SQLite file in folder."""
    return await open_store(folder / "likelens.db", _current_url)


def _in_own_loop(run: Coroutine[Any, Any, T]) -> T:
    # Sync fixtures run outside the test's event loop: a thread gives the schema's setup its own.
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(run))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """Create a fresh schema for one test (yielding its URL) and drop it afterwards."""
    global _current_url  # noqa: PLW0603 (one test at a time: the fixture sets, the harness reads)
    url, schema = _in_own_loop(postgres.create_schema())
    _current_url = url
    try:
        yield url
    finally:
        _current_url = None
        _in_own_loop(postgres.drop_schema(schema))


async def open_test_store_conn(folder: Path) -> Database:
    """The current test's store's database (for tests of one store module)."""
    return (await open_test_store(folder)).conn


async def committed_rows(folder: Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """What another process reads now: sql's rows through a connection of its own (`?` placeholders)."""
    if _current_url is None:
        with sqlite3.connect(folder / "likelens.db") as fresh:
            return [tuple(row) for row in fresh.execute(sql, args).fetchall()]
    reader = await asyncpg.connect(_current_url)
    try:
        return [tuple(row) for row in await reader.fetch(postgres_sql(sql), *args)]
    finally:
        await reader.close()


async def table_columns(conn: Database, table: str) -> list[str]:
    """table's column names, in order, on either engine."""
    if conn.dialect == "sqlite":
        rows = await conn.execute_fetchall("SELECT name FROM pragma_table_info(?)", (table,))
    else:
        rows = await conn.execute_fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position", (table,))
    return [str(row[0]) for row in rows]
