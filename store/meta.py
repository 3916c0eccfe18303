"""Key/value facts about this deployment, e.g. the hash of the last synced command tree."""

from __future__ import annotations

from store.engine import Database
from store.transactions import transaction


async def get_meta(conn: Database, key: str) -> str | None:
    """The value stored under key, or None."""
    async with conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])


async def set_meta(conn: Database, key: str, value: str) -> None:
    """Store value under key, replacing what was there."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
