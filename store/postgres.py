"""The PostgreSQL engine of store/engine.py's Database: a pool of asyncpg connections.

Imported only when DATABASE_URL names PostgreSQL (store/db.py), so a SQLite deployment never loads
asyncpg. The store's SQL is written with `?` placeholders; `postgres_sql` numbers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg

from store.engine import Database, Dialect, IntegrityError, Result, Row, Statement

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """sql with its `?` placeholders numbered `$1`, `$2`, … (those inside string literals kept)."""
    numbers = iter(range(1, 1 << 16))
    return _PLACEHOLDER.sub(lambda m: m.group(0) if m.group(0) != "?" else f"${next(numbers)}", sql)


def _rowcount(status: str) -> int:
    """The row count of a PostgreSQL command tag ("UPDATE 3", "INSERT 0 1"); -1 when it has none."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PostgresDatabase:
    """A pool of asyncpg connections to one PostgreSQL database (and schema)."""

    dialect: Dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        # The pool connection of each task's open transaction.
        self._held: dict[asyncio.Task[object], Any] = {}

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(pool)

    def _connection(self) -> Any | None:
        task = asyncio.current_task()
        return None if task is None else self._held.get(task)

    def execute(self, sql: str, args: Sequence[object] = ()) -> Statement:
        return Statement(self._execute(sql, args))

    async def _run(self, conn: Any, sql: str, args: Sequence[object]) -> Result:
        text = postgres_sql(sql)
        try:
            if _returns_rows(sql):
                # fetch() uses asyncpg's statement cache; a RETURNING write changed the rows it returned.
                records = await conn.fetch(text, *args)
                rows = [tuple(record) for record in records]
                return Result(rows, len(rows) if _RETURNING.search(sql) else -1)
            return Result([], _rowcount(await conn.execute(text, *args)))
        except asyncpg.IntegrityConstraintViolationError as error:
            raise IntegrityError(str(error)) from error

    async def _execute(self, sql: str, args: Sequence[object]) -> Result:
        held = self._connection()
        if held is not None:
            return await self._run(held, sql, args)
        async with self.pool.acquire() as conn:
            return await self._run(conn, sql, args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> Result:
        # One statement per row inside one transaction: the summed row count is what SQLite reports.
        total = 0
        async with self.transaction():
            for row in rows:
                total += max(0, (await self._execute(sql, row)).rowcount)
        return Result([], total)

    async def execute_fetchall(self, sql: str, args: Sequence[object] = ()) -> list[Row]:
        return (await self._execute(sql, args)).rows

    async def executescript(self, script: str) -> None:
        held = self._connection()
        if held is not None:
            await held.execute(script)
            return
        async with self.pool.acquire() as conn:
            await conn.execute(script)

    async def commit(self) -> None:
        """Nothing to do: outside `transaction()` every PostgreSQL statement commits by itself."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        task = asyncio.current_task()
        if task is None or task in self._held:
            yield self
            return
        async with self.pool.acquire() as conn, conn.transaction():
            self._held[task] = conn
            try:
                yield self
            finally:
                del self._held[task]

    async def close(self) -> None:
        await self.pool.close()


_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_ROW_RETURNING = re.compile(r"^\s*(SELECT|WITH|VALUES|EXPLAIN|SHOW)\b|\bRETURNING\b", re.IGNORECASE)


def _returns_rows(sql: str) -> bool:
    return bool(_ROW_RETURNING.search(sql))
