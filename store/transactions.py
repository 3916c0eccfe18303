"""Transactions on the bot's database (store/engine.py runs them for each engine).

Every coroutine of the bot writes through the same database object. On SQLite that is one shared
connection, and SQLite's transaction belongs to the connection, not to the coroutine: a bare
`commit()` by one would commit another's half-done write. So every write of `store` goes through
`transaction(conn)`: on SQLite an asyncio lock, then `BEGIN IMMEDIATE` … `COMMIT`, and `ROLLBACK`
when the block raises (or is cancelled); on PostgreSQL one pool connection held for the block. A
transaction opened inside another one by the same task joins it (no second BEGIN; the outer one
commits), so store functions may be composed inside a larger transaction.

Reads take no lock. On SQLite a read by another coroutine while a transaction is open sees that
transaction's changes before they are committed (SQLite isolates connections, not coroutines); on
PostgreSQL it sees only committed rows. Either way a read that decides a write (is this digest
new?) must not be trusted alone: a UNIQUE index or a check inside the transaction decides (as
`add_digest` does).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from store.engine import Database


@contextlib.asynccontextmanager
async def transaction(conn: Database) -> AsyncIterator[Database]:
    """Run the block's statements as one transaction on conn, alone among the bot's writers."""
    async with conn.transaction() as joined:
        yield joined
