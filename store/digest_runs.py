"""A digest's runs in SQLite: the pending run (its message and items, stored before sending) and the run log.

A run's message and its item ids are stored in the run's row (`payload`) *before* the message is
sent; `finish_run` records the items delivered once Discord accepted it. A run still pending after
a crash is sent again, with the same nonce, so Discord drops the duplicate. `begin_run` stays one
INSERT, the items travelling in the run's row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from store.engine import Database
from store.transactions import transaction

RunKind = Literal["baseline", "digest"]
# A run's ordinal within its digest, computed inside the run's one INSERT.
_NEXT_NUMBER = "(SELECT COALESCE(MAX(number), 0) + 1 FROM digest_runs WHERE digest_id = ?)"
RUN_LOG_RETENTION_SECONDS = 90 * 24 * 3600


@dataclass(frozen=True, slots=True)
class PendingRun:
    """A run whose message was prepared but not yet confirmed by Discord."""

    id: int
    digest_id: int
    kind: RunKind
    payload: str
    items: int
    # No default: a run "started at 0" looks older than Discord's nonce window and costs a history read.
    started_at: float
    # The items the message lists: recorded delivered by finish_run.
    item_ids: tuple[str, ...] = ()
    # The run's ordinal within its digest ("run 3"); the id stays the global key (and the nonce).
    number: int = 0


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One line of a digest's run log."""

    id: int
    digest_id: int
    started_at: float
    kind: str
    status: str
    items_found: int
    items_posted: int
    like_count: int | None
    message_id: int | None
    error: str | None


async def begin_run(
    conn: Database, digest_id: int, *, now: float, kind: RunKind, item_ids: Sequence[str],
    items_found: int, like_count: int | None, payload: str, note: str | None = None,
) -> PendingRun:
    """Record a run about to be sent, its message and its items, in one statement; returns the run.

    note goes to the run log's error column (what the run left out, e.g. a post deleted meanwhile).
    """
    async with transaction(conn):
        stored = json.dumps({"message": payload, "items": list(item_ids)})
        cursor = await conn.execute(
            "INSERT INTO digest_runs (digest_id, started_at, kind, status, items_found, items_posted, "
            f"like_count, payload, number, error) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, {_NEXT_NUMBER}, ?) "
            "RETURNING id, number",
            (digest_id, now, kind, items_found, len(item_ids), like_count, stored, digest_id, note),
        )
        row = await cursor.fetchone()
    assert row is not None
    run_id = int(row[0])
    return PendingRun(run_id, digest_id, kind, payload, len(item_ids), now, tuple(item_ids), int(row[1]))


def _unpack(stored: str) -> tuple[str, tuple[str, ...]]:
    """The message and item ids of a stored run (a run stored by an older version: its items are in
    digest_items already, undelivered)."""
    value = json.loads(stored)
    if isinstance(value, dict) and set(value) == {"message", "items"}:
        return str(value["message"]), tuple(str(item) for item in value["items"])
    return stored, ()


async def pending_run(conn: Database, digest_id: int) -> PendingRun | None:
    """The digest's run that was prepared but not confirmed sent, if any."""
    async with conn.execute(
        "SELECT id, kind, payload, items_posted, started_at, number FROM digest_runs "
        "WHERE digest_id = ? AND status = 'pending' "
        "ORDER BY id LIMIT 1", (digest_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    message, item_ids = _unpack(str(row[2]))
    return PendingRun(
        int(row[0]), digest_id, row[1], message, int(row[3]), float(row[4]), item_ids, int(row[5])
    )


async def finish_run(
    conn: Database, run: PendingRun, *, message_id: int, now: float, next_run_at: float | None,
) -> None:
    """Discord accepted run's message: its items are delivered, the digest is scheduled again (its
    claim, store/digest_claims.py, cleared in the same statement)."""
    async with transaction(conn):
        await conn.executemany(
            "INSERT INTO digest_items (digest_id, item_id, run_id, delivered) VALUES (?, ?, ?, 1) "
            "ON CONFLICT DO NOTHING",
            [(run.digest_id, item, run.id) for item in run.item_ids],
        )
        # Runs stored by an older version wrote their items undelivered at once.
        await conn.execute("UPDATE digest_items SET delivered = 1 WHERE run_id = ?", (run.id,))
        await conn.execute(
            "UPDATE digest_runs SET status = 'posted', message_id = ?, payload = NULL WHERE id = ?",
            (message_id, run.id),
        )
        baseline = 1 if run.kind == "baseline" else 0
        await conn.execute(
            "UPDATE digests SET baseline_done = CASE WHEN ? = 1 THEN 1 ELSE baseline_done END, "
            "last_run_at = ?, claimed_by = NULL, claim_expires_at = NULL, "
            "next_run_at = CASE WHEN state = 'active' THEN CAST(? AS DOUBLE PRECISION) END, "
            "failures = 0, reason = NULL WHERE id = ?",
            (baseline, now, next_run_at, run.digest_id),
        )


async def abandon_run(conn: Database, run: PendingRun, *, error: str) -> None:
    """Discord refused run's message for good: the run failed, its items were never delivered.

    The next run then lists those items in a message built afresh instead of resending this one.
    """
    async with transaction(conn):
        await conn.execute(
            "UPDATE digest_runs SET status = 'failed', payload = NULL, error = ? WHERE id = ?",
            (error, run.id),
        )
        # Runs stored by an older version hold their items here, undelivered.
        await conn.execute("DELETE FROM digest_items WHERE run_id = ? AND delivered = 0", (run.id,))


async def log_run(
    conn: Database, digest_id: int, *, now: float, status: str, items_found: int = 0,
    like_count: int | None = None, error: str | None = None,
) -> None:
    """Record a run that posted nothing (nothing new, or a failure): it is the digest's last run."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO digest_runs (digest_id, started_at, kind, status, items_found, like_count, error, "
            f"number) VALUES (?, ?, 'digest', ?, ?, ?, ?, {_NEXT_NUMBER})",
            (digest_id, now, status, items_found, like_count, error, digest_id),
        )
        await conn.execute("UPDATE digests SET last_run_at = ? WHERE id = ?", (now, digest_id))
        await conn.execute(
            "DELETE FROM digest_runs WHERE digest_id = ? AND started_at < ? AND status != 'pending'",
            (digest_id, now - RUN_LOG_RETENTION_SECONDS),
        )


async def run_log(conn: Database, digest_id: int, limit: int = 50) -> list[RunRecord]:
    """The digest's latest runs, newest first."""
    async with conn.execute(
        "SELECT id, digest_id, started_at, kind, status, items_found, items_posted, like_count, message_id, "
        "error FROM digest_runs WHERE digest_id = ? ORDER BY id DESC LIMIT ?", (digest_id, limit),
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        RunRecord(int(r[0]), int(r[1]), float(r[2]), str(r[3]), str(r[4]), int(r[5]), int(r[6]),
                  None if r[7] is None else int(r[7]), None if r[8] is None else int(r[8]),
                  None if r[9] is None else str(r[9]))
        for r in rows
    ]
