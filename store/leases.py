"""Leases: which one of the deployment's processes does a job (the live-likes stream, pruning, …).

A lease is a row (name, holder, expires_at). `acquire` takes it when it is free or expired, and
renews it when the caller holds it already, in one atomic upsert, so of N processes asking at once
exactly one gets it. A holder that stops renewing (killed, stuck, cut off) loses it at expires_at,
and the next process asking takes over. With one process on SQLite the lease is simply always its.
"""

from __future__ import annotations

from store.engine import Database
from store.transactions import transaction


async def acquire(conn: Database, name: str, holder: str, *, now: float, seconds: float) -> bool:
    """Take or renew lease `name` for holder until now + seconds; False while another holds it."""
    async with transaction(conn):
        cursor = await conn.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ? RETURNING holder",
            (name, holder, now + seconds, now),
        )
        row = await cursor.fetchone()
    return row is not None


async def release(conn: Database, name: str, holder: str) -> None:
    """Give lease `name` up at once (a clean stop), if holder still holds it."""
    async with transaction(conn):
        await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))


async def holder_of(conn: Database, name: str, *, now: float) -> str | None:
    """Who holds lease `name` now (None: nobody, or it expired)."""
    async with conn.execute(
        "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, now)
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else str(row[0])
