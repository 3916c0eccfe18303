"""Items (users + posts) each server read from X per UTC day: what X_DAILY_ITEMS_PER_SERVER caps.

Counted in the store so a restart forgets nothing, and every bot process on the database counts in
the same row. A lookup reserves what it may read first (`reserve_items`: the check against the cap
and the addition are one statement, so two processes can never both pass a cap only one fits in),
then settles with what X returned (`add_items` of the difference).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.engine import Database
from store.transactions import transaction


def utc_day(now: float) -> str:
    """The UTC day of Unix time now, as YYYY-MM-DD."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


def next_utc_midnight(now: float) -> float:
    """Unix time of the UTC midnight after now (when a day's count starts again)."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (day + timedelta(days=1)).timestamp()


async def items_read(conn: Database, guild_id: int, day: str) -> int:
    """How many items guild_id read on day."""
    async with conn.execute(
        "SELECT items FROM daily_usage WHERE guild_id = ? AND day = ?", (guild_id, day)
    ) as cursor:
        row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def add_items(conn: Database, guild_id: int, day: str, items: int) -> int:
    """Add items to guild_id's count of day (atomically); returns the new count."""
    upsert = (
        "INSERT INTO daily_usage (guild_id, day, items) VALUES (?, ?, ?) "
        "ON CONFLICT(guild_id, day) DO UPDATE SET items = daily_usage.items + excluded.items RETURNING items"
    )
    async with transaction(conn), conn.execute(upsert, (guild_id, day, items)) as cursor:
        row = await cursor.fetchone()
    return 0 if row is None else int(row[0])


async def reserve_items(conn: Database, guild_id: int, day: str, items: int, cap: int) -> bool:
    """Add items to guild_id's count of day only if it stays within cap (one atomic statement);
    False, nothing added, when it would not."""
    if items > cap:
        return False
    upsert = (
        "INSERT INTO daily_usage (guild_id, day, items) VALUES (?, ?, ?) "
        "ON CONFLICT(guild_id, day) DO UPDATE SET items = daily_usage.items + excluded.items "
        "WHERE daily_usage.items + excluded.items <= ? RETURNING items"
    )
    async with transaction(conn), conn.execute(upsert, (guild_id, day, items, cap)) as cursor:
        row = await cursor.fetchone()
    return row is not None
