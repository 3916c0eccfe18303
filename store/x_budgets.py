"""X rate budgets every bot process shares: one row per (endpoint, token identity) in `x_rate_budgets`.

Before a request a process takes one unit of the window in one UPDATE (`remaining > 0` decides who
gets the last one), so N processes on one token send no more than one would. X's answers are
recorded by an upsert that never moves a window backwards (a late answer of the previous window
is ignored) and, within one window, keeps the smaller count (an answer overtaken by other
processes' takes must not give their units back). Implements `xapi.ratelimit.BudgetLedger`.

On SQLite the ledger writes through a connection of its own with a short busy timeout: one
aiosqlite connection runs its statements one at a time, so a take waiting for a locked file would
hold up the bot's other writes (a rotated token's save), and X requests would wait for it. A
locked file fails a take fast instead, and the request's client decides from its memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiosqlite

from store.engine import Database, SqliteDatabase
from store.transactions import transaction
from xapi.ratelimit import RateBudget, Take, utc

_TAKE = (
    "UPDATE x_rate_budgets SET remaining = remaining - 1 "
    "WHERE endpoint = ? AND identity = ? AND remaining > 0 AND reset_at > ? "
    "RETURNING budget_limit, remaining, reset_at"
)
_SELECT = "SELECT budget_limit, remaining, reset_at FROM x_rate_budgets WHERE endpoint = ? AND identity = ?"
_RECORD = (
    "INSERT INTO x_rate_budgets (endpoint, identity, budget_limit, remaining, reset_at) "
    "VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (endpoint, identity) DO UPDATE SET "
    "budget_limit = CASE WHEN excluded.budget_limit > 0 THEN excluded.budget_limit "
    "ELSE x_rate_budgets.budget_limit END, "
    "remaining = CASE WHEN excluded.reset_at > x_rate_budgets.reset_at "
    "OR excluded.remaining < x_rate_budgets.remaining THEN excluded.remaining "
    "ELSE x_rate_budgets.remaining END, "
    "reset_at = excluded.reset_at "
    "WHERE excluded.reset_at >= x_rate_budgets.reset_at "
    "RETURNING budget_limit, remaining, reset_at"
)
# A window another process recorded between the UPDATE and the SELECT: take from it again.
_TAKE_TRIES = 3
# How long the ledger's own SQLite connection waits for another writer.
SQLITE_BUSY_MS = 1000


def _budget(endpoint: str, row: Sequence[Any]) -> RateBudget:
    limit, remaining, reset_at = row
    return RateBudget(endpoint, int(limit), int(remaining), utc(float(reset_at)))


class StoreBudgets:
    """The rate budgets of every process on this database (xapi.ratelimit.BudgetLedger)."""

    def __init__(self, conn: Database) -> None:
        self._conn = conn
        self._own: SqliteDatabase | None = None
        self._opened = False
        self._opening = asyncio.Lock()

    async def _db(self) -> Database:
        if self._conn.dialect != "sqlite":
            return self._conn
        if not self._opened:
            async with self._opening:
                if not self._opened:
                    self._own = await _own_connection(self._conn)
                    self._opened = True
        return self._own or self._conn

    async def close(self) -> None:
        """Close the ledger's own SQLite connection (if it opened one); it is not used afterwards."""
        async with self._opening:
            own, self._own, self._opened = self._own, None, True
        if own is not None:
            await own.close()

    async def take(self, endpoint: str, identity: str, *, now: float) -> Take:
        """One unit of the window taken (allowed), or refused while it is spent and not reset."""
        db = await self._db()
        for _ in range(_TAKE_TRIES):
            async with transaction(db), db.execute(_TAKE, (endpoint, identity, now)) as cursor:
                taken = await cursor.fetchone()
            if taken is not None:
                return Take(True, _budget(endpoint, taken))
            current = await self.get(endpoint, identity)
            if current is None or current.reset_at.timestamp() <= now:
                # No window known, or it ended: X's answer will tell the new one.
                return Take(True, None)
            if current.remaining <= 0:
                return Take(False, current)
        return Take(True, current)

    async def record(self, endpoint: str, identity: str, budget: RateBudget) -> RateBudget | None:
        """Record what X said (see the module's rules); returns the budget now in force."""
        args = (endpoint, identity, budget.limit, max(budget.remaining, 0), budget.reset_at.timestamp())
        db = await self._db()
        async with transaction(db), db.execute(_RECORD, args) as cursor:
            row = await cursor.fetchone()
        return _budget(endpoint, row) if row is not None else await self.get(endpoint, identity)

    async def get(self, endpoint: str, identity: str) -> RateBudget | None:
        """The budget recorded for (endpoint, identity), or None."""
        async with (await self._db()).execute(_SELECT, (endpoint, identity)) as cursor:
            row = await cursor.fetchone()
        return _budget(endpoint, row) if row is not None else None


async def _own_connection(conn: Database) -> SqliteDatabase | None:
    """A second connection to conn's SQLite file (None for a database in memory)."""
    files = [str(row[2]) for row in await conn.execute_fetchall("PRAGMA database_list") if row[1] == "main"]
    if not files or not files[0]:
        return None
    raw = await aiosqlite.connect(files[0])
    try:
        await raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    except BaseException:
        await raw.close()
        raise
    return SqliteDatabase(raw)
