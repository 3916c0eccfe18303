"""Transactions on the bot's one shared aiosqlite connection.

Every coroutine of the bot writes through the same connection, and SQLite's transaction belongs to
the connection, not to the coroutine: a bare `commit()` by one would commit another's half-done
write. So every write of `store` goes through `transaction(conn)`: an asyncio lock, then
`BEGIN IMMEDIATE` … `COMMIT`, and `ROLLBACK` when the block raises (or is cancelled).

The lock is keyed to the connection in a weak mapping rather than held by a wrapper object: the
store's functions keep taking a plain `aiosqlite.Connection` (callers all over the bot pass
`store.conn`), and a connection that is closed and dropped takes its lock with it. A transaction
opened inside another one by the same task joins it (no second BEGIN; the outer one commits), so
store functions may be composed inside a larger transaction.

Reads take no lock. A read by another coroutine while a transaction is open on the connection sees
that transaction's changes before they are committed (SQLite isolates connections, not coroutines):
a read that decides a write (is this digest new?) must not be trusted alone; a UNIQUE index or a
check inside the transaction decides (as `add_digest` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiosqlite


@dataclass
class _ConnectionGuard:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The task whose transaction is open (a nested transaction() of the same task joins it).
    owner: asyncio.Task[object] | None = None


_GUARDS: weakref.WeakKeyDictionary[aiosqlite.Connection, _ConnectionGuard] = weakref.WeakKeyDictionary()


def _guard(conn: aiosqlite.Connection) -> _ConnectionGuard:
    guard = _GUARDS.get(conn)
    if guard is None:
        guard = _GUARDS[conn] = _ConnectionGuard()
    return guard


@contextlib.asynccontextmanager
async def transaction(conn: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """Run the block's statements as one transaction on conn, alone among the bot's writers."""
    guard = _guard(conn)
    task = asyncio.current_task()
    if task is not None and guard.owner is task:
        yield conn
        return
    async with guard.lock:
        guard.owner = task
        try:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.commit()
            except BaseException:
                # Shielded: a cancelled caller must still leave the connection out of its transaction.
                await asyncio.shield(conn.rollback())
                raise
        finally:
            guard.owner = None
