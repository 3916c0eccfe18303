"""One small database interface over two engines: SQLite (aiosqlite) and PostgreSQL (asyncpg).

The store's modules write one portable SQL (`?` placeholders, `ON CONFLICT`, `RETURNING`) and call
`db.execute(sql, args)` the way they called aiosqlite: awaited, or used as `async with … as cursor`,
then `fetchone()`/`fetchall()`/`rowcount`. Rows come back as plain tuples on both engines.

Why a protocol of our own rather than SQLAlchemy Core: the store is about 2,000 lines of plain SQL
that already runs on SQLite; translating `?` to `$n` and three dialect differences (see
`Database.dialect`) kept every query as it was, where SQLAlchemy would have rewritten all of them
and added a layer between asyncpg's pool and `FOR UPDATE SKIP LOCKED`.

Transactions: `db.transaction()` runs its block alone among this process's writers. On SQLite it
is the one shared connection's lock and `BEGIN IMMEDIATE` (store/transactions.py explains why);
on PostgreSQL it holds one pool connection for the block, and every statement the same task sends
meanwhile goes to that connection (a nested `transaction()` of the task joins it).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol

import aiosqlite

Dialect = Literal["sqlite", "postgresql"]
Row = tuple[Any, ...]


class IntegrityError(Exception):
    """A UNIQUE, CHECK or foreign-key constraint refused a write (either engine)."""


@dataclass
class Result:
    """What one statement returned: its rows, how many rows it changed, SQLite's last row id."""

    rows: list[Row] = field(default_factory=list)
    rowcount: int = -1
    lastrowid: int | None = None

    async def fetchone(self) -> Row | None:
        return self.rows[0] if self.rows else None

    async def fetchall(self) -> list[Row]:
        return self.rows


class Statement:
    """A statement to be run: awaited for its Result, or entered (`async with`) like a cursor."""

    def __init__(self, run: Awaitable[Result]) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, Result]:
        return self._run.__await__()

    async def __aenter__(self) -> Result:
        return await self._run

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None


class Database(Protocol):
    """The store's view of a database. `dialect` names the engine for the few statements that differ
    (SQLite's PRAGMAs and file hygiene; PostgreSQL's `FOR UPDATE SKIP LOCKED`)."""

    dialect: Dialect

    def execute(self, sql: str, args: Sequence[object] = ()) -> Statement: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> Result: ...

    async def execute_fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]: ...

    async def executescript(self, script: str) -> None: ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Database]: ...

    async def commit(self) -> None:
        """Commit raw writes made outside `transaction()` (tests' setup only; the store never does)."""

    async def close(self) -> None: ...


class SqliteDatabase:
    """The bot's one aiosqlite connection (SQLite isolates connections, not coroutines)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.raw = conn
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None

    def execute(self, sql: str, args: Sequence[object] = ()) -> Statement:
        return Statement(self._execute(sql, args))

    async def _execute(self, sql: str, args: Sequence[object]) -> Result:
        try:
            async with self.raw.execute(sql, tuple(args)) as cursor:
                rows = [tuple(row) for row in await cursor.fetchall()]
                return Result(rows, cursor.rowcount, cursor.lastrowid)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> Result:
        try:
            async with self.raw.executemany(sql, [tuple(row) for row in rows]) as cursor:
                return Result([], cursor.rowcount, cursor.lastrowid)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(str(error)) from error

    async def execute_fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return (await self._execute(sql, args)).rows

    async def executescript(self, script: str) -> None:
        await self.raw.executescript(script)

    async def commit(self) -> None:
        """Commit what a caller wrote outside `transaction()` (tests' raw setup; the store never does)."""
        await self.raw.commit()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield self
            return
        async with self._lock:
            self._owner = task
            try:
                try:
                    # Inside the try: cancelled while its BEGIN is under way, the BEGIN still runs.
                    await self.raw.execute("BEGIN IMMEDIATE")
                    yield self
                    await self.raw.commit()
                except BaseException:
                    # Shielded: a cancelled caller must still leave the connection out of its transaction.
                    await asyncio.shield(self.raw.rollback())
                    raise
            finally:
                self._owner = None

    async def close(self) -> None:
        await self.raw.close()


async def checkpoint_wal(conn: Database) -> None:
    """Move SQLite's write-ahead log into the file and empty it (so deleted secrets leave the log too);
    PostgreSQL keeps no such file of ours: nothing to do."""
    if conn.dialect == "sqlite":
        await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def open_sqlite(path: Path) -> SqliteDatabase:
    """An aiosqlite connection to the file at path (created with its folder), wrapped."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteDatabase(await aiosqlite.connect(path))
