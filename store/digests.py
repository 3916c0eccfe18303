"""Scheduled digests in SQLite: the digests and the items each has seen (the run log: store/digest_runs.py).

A run's message and its item ids are stored in the run's row (`payload`) *before* the message is
sent; `finish_run` records the items delivered once Discord accepted it. A run still pending after
a crash is sent again, with the same nonce, so Discord drops the duplicate.

The bot's modules share one connection: every write here runs in `store.transactions.transaction`,
so no other coroutine's commit can land between two statements of a write, and a write that fails
half-way leaves nothing. (`begin_run` stays one INSERT, the items travelling in the run's row.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

# The run log and pending runs live in store/digest_runs.py; their names stay importable from here.
from store.digest_runs import (
    RUN_LOG_RETENTION_SECONDS,
    PendingRun,
    RunKind,
    RunRecord,
    abandon_run,
    begin_run,
    finish_run,
    log_run,
    pending_run,
    run_log,
)
from store.engine import Database
from store.transactions import transaction

DigestState = Literal["active", "paused", "disabled"]
SubjectKind = Literal["post", "liked", "recent"]

DIGEST_COLUMNS = (
    "id, guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, state, reason, "
    "failures, baseline_done, creator_notice, created_at, last_run_at, next_run_at, account_id"
)
# SQLite allows 999 bound parameters in old builds; stay well below.
_IN_CHUNK = 500
# A new run's number: one more than its digest's last (the newest run is never pruned, so never reused).
# The run log keeps this long; seen items are kept for good (X may list an old liker again).


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest as stored."""

    id: int
    guild_id: int
    channel_id: int
    creator_id: int
    subject_kind: SubjectKind
    subject_id: str
    every_seconds: int
    state: DigestState
    reason: str | None
    failures: int
    baseline_done: bool
    creator_notice: str | None
    created_at: float
    last_run_at: float | None
    next_run_at: float | None
    # The X user id of the account the digest was added for (None: added before it was recorded).
    account_id: str | None = None

    @property
    def subject_key(self) -> tuple[str, str]:
        """Digests with equal keys read the same X data."""
        return (self.subject_kind, self.subject_id)


def digest_from_row(row: Any) -> Digest:
    (id_, guild_id, channel_id, creator_id, kind, subject_id, every, state, reason, failures, baseline,
     notice, created_at, last_run_at, next_run_at, account_id) = row
    return Digest(
        int(id_), int(guild_id), int(channel_id), int(creator_id), kind, str(subject_id), int(every), state,
        None if reason is None else str(reason), int(failures), bool(baseline),
        None if notice is None else str(notice), float(created_at),
        None if last_run_at is None else float(last_run_at),
        None if next_run_at is None else float(next_run_at),
        None if account_id is None else str(account_id),
    )


class DuplicateDigest(Exception):
    """The server already has a digest of this subject in this channel (`existing_id`)."""

    def __init__(self, existing_id: int) -> None:
        super().__init__(f"digest #{existing_id} already posts this subject to this channel")
        self.existing_id = existing_id


async def add_digest(
    conn: Database, *, guild_id: int, channel_id: int, creator_id: int, subject_kind: SubjectKind,
    subject_id: str, every_seconds: int, now: float, account_id: str | None = None, due: bool = True,
) -> Digest:
    """Create an active digest, due at once (its first run records the baseline); `due=False` for a
    live digest, which the scheduler never runs (digests/live_feed.py does).

    Raises DuplicateDigest when the channel already has a digest of this subject (a UNIQUE index
    decides, so two concurrent adds cannot both insert).
    """
    async with transaction(conn):
        cursor = await conn.execute(
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            "created_at, next_run_at, account_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, channel_id, subject_kind, subject_id) DO NOTHING RETURNING id",
            (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, now,
             now if due else None, account_id),
        )
        inserted = await cursor.fetchone()
        if inserted is None:
            async with conn.execute(
                "SELECT id FROM digests WHERE guild_id = ? AND channel_id = ? AND subject_kind = ? "
                "AND subject_id = ?", (guild_id, channel_id, subject_kind, subject_id),
            ) as existing:
                row = await existing.fetchone()
            assert row is not None
            raise DuplicateDigest(int(row[0]))
    digest_id = int(inserted[0])
    found = await get_digest(conn, digest_id)
    assert found is not None
    return found


async def get_digest(
    conn: Database, digest_id: int, guild_id: int | None = None
) -> Digest | None:
    """The digest with this id (only if it belongs to guild_id, when given)."""
    sql = f"SELECT {DIGEST_COLUMNS} FROM digests WHERE id = ?"
    args: tuple[int, ...] = (digest_id,)
    if guild_id is not None:
        sql += " AND guild_id = ?"
        args = (digest_id, guild_id)
    async with conn.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return None if row is None else digest_from_row(row)


async def guild_digests(conn: Database, guild_id: int) -> list[Digest]:
    """This guild's digests, oldest first."""
    async with conn.execute(
        f"SELECT {DIGEST_COLUMNS} FROM digests WHERE guild_id = ? ORDER BY id", (guild_id,)
    ) as cursor:
        return [digest_from_row(row) for row in await cursor.fetchall()]


DUE_QUERY = f"SELECT {DIGEST_COLUMNS} FROM digests WHERE next_run_at <= ? ORDER BY next_run_at, id LIMIT ?"


async def due_digests(conn: Database, now: float, limit: int) -> list[Digest]:
    """Up to limit digests due at now, most overdue first; reads only due rows (index on next_run_at)."""
    async with conn.execute(DUE_QUERY, (now, limit)) as cursor:
        return [digest_from_row(row) for row in await cursor.fetchall()]


async def set_account(conn: Database, digest_id: int, account_id: str) -> None:
    """Record the X account (user id) digest_id serves: a digest added before accounts were recorded."""
    async with transaction(conn):
        await conn.execute("UPDATE digests SET account_id = ? WHERE id = ?", (account_id, digest_id))


async def delete_digest(conn: Database, digest_id: int) -> None:
    """Delete a digest with its seen items and run log."""
    async with transaction(conn):
        await conn.execute("DELETE FROM digests WHERE id = ?", (digest_id,))


async def set_schedule(
    conn: Database, digest_id: int, *, next_run_at: float | None,
    last_run_at: float | None = None, failures: int | None = None, reason: str | None = None,
) -> None:
    """Move the digest's next run, ending the run (its claim, store/digest_claims.py, is cleared with it);
    optionally record the last run, the failure streak and its reason."""
    async with transaction(conn):
        await conn.execute(
            # A digest paused or disabled meanwhile (e.g. during the run) stays unscheduled.
            "UPDATE digests SET claimed_by = NULL, claim_expires_at = NULL, "
            "next_run_at = CASE WHEN state = 'active' THEN CAST(? AS DOUBLE PRECISION) END, "
            "last_run_at = COALESCE(?, last_run_at), "
            "failures = COALESCE(?, failures), "
            "reason = COALESCE(?, reason) WHERE id = ?",
            (next_run_at, last_run_at, failures, reason, digest_id),
        )


async def set_state(
    conn: Database, digest_id: int, state: DigestState, *, reason: str | None,
    next_run_at: float | None, creator_notice: str | None = None, failures: int | None = None,
    ends_run: bool = False,
) -> None:
    """Change a digest's state (paused/disabled digests have no next run). ends_run: a run's outcome
    sets it, and the run's claim is cleared with it (a moderator's change leaves a run's claim alone)."""
    release = ", claimed_by = NULL, claim_expires_at = NULL" if ends_run else ""
    async with transaction(conn):
        await conn.execute(
            f"UPDATE digests SET state = ?, reason = ?, next_run_at = ?{release}, "
            "creator_notice = COALESCE(?, creator_notice), failures = COALESCE(?, failures) WHERE id = ?",
            (state, reason, next_run_at, creator_notice, failures, digest_id),
        )


async def disable_guild_digests(conn: Database, guild_id: int, reason: str) -> int:
    """Disable every digest of guild that is not disabled yet (the bot left it); returns how many."""
    async with transaction(conn):
        cursor = await conn.execute(
            "UPDATE digests SET state = 'disabled', reason = ?, next_run_at = NULL "
            "WHERE guild_id = ? AND state != 'disabled'", (reason, guild_id),
        )
    return cursor.rowcount


async def clear_creator_notice(conn: Database, digest_id: int) -> None:
    """The creator has been told: forget the pending notice."""
    async with transaction(conn):
        await conn.execute("UPDATE digests SET creator_notice = NULL WHERE id = ?", (digest_id,))


async def seen_items(conn: Database, digest_id: int, item_ids: Iterable[str]) -> set[str]:
    """Which of item_ids this digest has already delivered (a baseline counts as delivered)."""
    wanted = list(dict.fromkeys(item_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT item_id FROM digest_items WHERE digest_id = ? AND item_id IN ({marks})",
            (digest_id, *chunk),
        ) as cursor:
            found.update(str(row[0]) for row in await cursor.fetchall())
    return found


async def post_checks(conn: Database, digest_id: int) -> dict[str, float]:
    """When this digest last read each post's likers (post id -> time); unread posts are absent."""
    async with conn.execute(
        "SELECT post_id, checked_at FROM digest_post_checks WHERE digest_id = ?", (digest_id,)
    ) as cursor:
        return {str(row[0]): float(row[1]) for row in await cursor.fetchall()}


async def mark_posts_checked(
    conn: Database, digest_id: int, post_ids: Iterable[str], *, now: float, forget_before: float,
) -> None:
    """Record that post_ids' likers were read now; checks older than forget_before are dropped."""
    async with transaction(conn):
        await conn.executemany(
            "INSERT INTO digest_post_checks (digest_id, post_id, checked_at) VALUES (?, ?, ?) "
            "ON CONFLICT (digest_id, post_id) DO UPDATE SET checked_at = excluded.checked_at",
            [(digest_id, post_id, now) for post_id in post_ids],
        )
        # Posts that left the window are no longer read: their rows would only grow the table.
        await conn.execute(
            "DELETE FROM digest_post_checks WHERE digest_id = ? AND checked_at < ?",
            (digest_id, forget_before),
        )


async def query_plan(conn: Database, sql: str, args: Sequence[object]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN lines for sql (to prove a query uses an index)."""
    async with conn.execute(f"EXPLAIN QUERY PLAN {sql}", tuple(args)) as cursor:
        return [str(row[-1]) for row in await cursor.fetchall()]

__all__ = [
    "DIGEST_COLUMNS", "DUE_QUERY", "RUN_LOG_RETENTION_SECONDS", "Digest", "DigestState", "DuplicateDigest",
    "PendingRun", "RunKind", "RunRecord", "SubjectKind", "abandon_run", "add_digest", "begin_run",
    "clear_creator_notice", "delete_digest", "digest_from_row", "disable_guild_digests", "due_digests",
    "finish_run", "get_digest", "guild_digests", "log_run", "mark_posts_checked", "pending_run",
    "post_checks", "query_plan", "run_log", "seen_items", "set_account", "set_schedule", "set_state",
]
