"""Paginator state: what a message's buttons browse, who may turn its pages, and where it stands.

Keyed by a short random id that the buttons carry in their custom_id, so a click on a message sent
before a restart still finds what it needs. The server it was opened in is kept with it: a button
crafted with its id in another server must be refused. `context` is what the header needs (e.g. the post's
text and like count) and `state` is a BrowseState's JSON; both are stored as JSON text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store.engine import Database
from store.transactions import transaction

# Base-36 ids of 10 characters: short in a custom_id, 3.6e15 values, so collisions do not happen.
_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 10


@dataclass(frozen=True, slots=True)
class BrowseRecord:
    """One paginator's stored state."""

    id: str
    kind: str
    subject_id: str
    owner_id: int
    context: dict[str, Any]
    state: dict[str, Any]
    # The server whose command opened it (None: saved before servers were recorded, or not in one).
    guild_id: int | None


def new_browse_id() -> str:
    """A fresh random id for a paginator."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))


async def save_browse(conn: Database, record: BrowseRecord, *, now: float) -> None:
    """Insert or replace the record."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO browse_states (id, kind, subject_id, owner_id, context, state, guild_id, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET state = excluded.state, context = excluded.context, "
            "updated_at = excluded.updated_at",
            (record.id, record.kind, record.subject_id, record.owner_id, json.dumps(record.context),
             json.dumps(record.state), record.guild_id, now),
        )


async def save_position(
    conn: Database, browse_id: str, state: dict[str, Any], *, now: float,
) -> None:
    """Record where the paginator `browse_id` stands now."""
    async with transaction(conn):
        await conn.execute(
            "UPDATE browse_states SET state = ?, updated_at = ? WHERE id = ?",
            (json.dumps(state), now, browse_id),
        )


async def save_positions(
    conn: Database, positions: Mapping[str, tuple[dict[str, Any], float]],
) -> None:
    """Record where several paginators stand (browse id -> (state, when)), in one transaction."""
    async with transaction(conn):
        await conn.executemany(
            "UPDATE browse_states SET state = ?, updated_at = ? WHERE id = ?",
            [(json.dumps(state), now, browse_id) for browse_id, (state, now) in positions.items()],
        )


async def load_browse(conn: Database, browse_id: str) -> BrowseRecord | None:
    """The record stored under browse_id, or None (never stored, deleted, or unreadable)."""
    async with conn.execute(
        "SELECT id, kind, subject_id, owner_id, context, state, guild_id FROM browse_states WHERE id = ?",
        (browse_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    try:
        context, state = json.loads(row[4]), json.loads(row[5])
    except ValueError:
        return None
    if not isinstance(context, dict) or not isinstance(state, dict):
        return None
    guild_id = None if row[6] is None else int(row[6])
    return BrowseRecord(str(row[0]), str(row[1]), str(row[2]), int(row[3]), context, state, guild_id)


async def delete_browse_older_than(conn: Database, cutoff: float) -> int:
    """Forget paginators untouched since `cutoff` (Unix seconds); returns how many."""
    async with transaction(conn):
        cursor = await conn.execute("DELETE FROM browse_states WHERE updated_at < ?", (cutoff,))
    return cursor.rowcount
