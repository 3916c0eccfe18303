"""Scheduled digests in SQLite: the digests, the items each has seen, and the run log.

A run's message and its item ids are stored in the run's row (`payload`) *before* the message is
sent; `finish_run` records the items delivered once Discord accepted it. A run still pending after
a crash is sent again, with the same nonce, so Discord drops the duplicate.

The bot's modules share one connection: every write here runs in `store.transactions.transaction`,
so no other coroutine's commit can land between two statements of a write, and a write that fails
half-way leaves nothing. (`begin_run` stays one INSERT, the items travelling in the run's row.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiosqlite

from store.transactions import transaction

DigestState = Literal["active", "paused", "disabled"]
SubjectKind = Literal["post", "liked", "recent"]
RunKind = Literal["baseline", "digest"]

_DIGEST_COLUMNS = (
    "id, guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, state, reason, "
    "failures, baseline_done, creator_notice, created_at, last_run_at, next_run_at, account_id"
)
# SQLite allows 999 bound parameters in old builds; stay well below.
_IN_CHUNK = 500
# A new run's number: one more than its digest's last (the newest run is never pruned, so never reused).
_NEXT_NUMBER = "(SELECT COALESCE(MAX(number), 0) + 1 FROM digest_runs WHERE digest_id = ?)"
# The run log keeps this long; seen items are kept for good (X may list an old liker again).
RUN_LOG_RETENTION_SECONDS = 90 * 24 * 3600


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


def _digest(row: Any) -> Digest:
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
    conn: aiosqlite.Connection, *, guild_id: int, channel_id: int, creator_id: int, subject_kind: SubjectKind,
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
            "ON CONFLICT (guild_id, channel_id, subject_kind, subject_id) DO NOTHING",
            (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, now,
             now if due else None, account_id),
        )
        if cursor.rowcount == 0:
            async with conn.execute(
                "SELECT id FROM digests WHERE guild_id = ? AND channel_id = ? AND subject_kind = ? "
                "AND subject_id = ?", (guild_id, channel_id, subject_kind, subject_id),
            ) as existing:
                row = await existing.fetchone()
            assert row is not None
            raise DuplicateDigest(int(row[0]))
    digest_id = cursor.lastrowid
    assert digest_id is not None
    found = await get_digest(conn, digest_id)
    assert found is not None
    return found


async def get_digest(
    conn: aiosqlite.Connection, digest_id: int, guild_id: int | None = None
) -> Digest | None:
    """The digest with this id (only if it belongs to guild_id, when given)."""
    sql = f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE id = ?"
    args: tuple[int, ...] = (digest_id,)
    if guild_id is not None:
        sql += " AND guild_id = ?"
        args = (digest_id, guild_id)
    async with conn.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return None if row is None else _digest(row)


async def guild_digests(conn: aiosqlite.Connection, guild_id: int) -> list[Digest]:
    """This guild's digests, oldest first."""
    async with conn.execute(
        f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE guild_id = ? ORDER BY id", (guild_id,)
    ) as cursor:
        return [_digest(row) for row in await cursor.fetchall()]


DUE_QUERY = f"SELECT {_DIGEST_COLUMNS} FROM digests WHERE next_run_at <= ? ORDER BY next_run_at, id LIMIT ?"


async def due_digests(conn: aiosqlite.Connection, now: float, limit: int) -> list[Digest]:
    """Up to limit digests due at now, most overdue first; reads only due rows (index on next_run_at)."""
    async with conn.execute(DUE_QUERY, (now, limit)) as cursor:
        return [_digest(row) for row in await cursor.fetchall()]


async def delete_digest(conn: aiosqlite.Connection, digest_id: int) -> None:
    """Delete a digest with its seen items and run log."""
    async with transaction(conn):
        await conn.execute("DELETE FROM digests WHERE id = ?", (digest_id,))


async def set_schedule(
    conn: aiosqlite.Connection, digest_id: int, *, next_run_at: float | None,
    last_run_at: float | None = None, failures: int | None = None, reason: str | None = None,
) -> None:
    """Move the digest's next run; optionally record the last run, the failure streak and its reason."""
    async with transaction(conn):
        await conn.execute(
            # A digest paused or disabled meanwhile (e.g. during the run) stays unscheduled.
            "UPDATE digests SET next_run_at = CASE WHEN state = 'active' THEN ? END, "
            "last_run_at = COALESCE(?, last_run_at), "
            "failures = COALESCE(?, failures), "
            "reason = CASE WHEN ? IS NULL THEN reason ELSE ? END WHERE id = ?",
            (next_run_at, last_run_at, failures, reason, reason, digest_id),
        )


async def set_state(
    conn: aiosqlite.Connection, digest_id: int, state: DigestState, *, reason: str | None,
    next_run_at: float | None, creator_notice: str | None = None, failures: int | None = None,
) -> None:
    """Change a digest's state (paused/disabled digests have no next run)."""
    async with transaction(conn):
        await conn.execute(
            "UPDATE digests SET state = ?, reason = ?, next_run_at = ?, "
            "creator_notice = COALESCE(?, creator_notice), failures = COALESCE(?, failures) WHERE id = ?",
            (state, reason, next_run_at, creator_notice, failures, digest_id),
        )


async def disable_guild_digests(conn: aiosqlite.Connection, guild_id: int, reason: str) -> int:
    """Disable every digest of guild that is not disabled yet (the bot left it); returns how many."""
    async with transaction(conn):
        cursor = await conn.execute(
            "UPDATE digests SET state = 'disabled', reason = ?, next_run_at = NULL "
            "WHERE guild_id = ? AND state != 'disabled'", (reason, guild_id),
        )
    return cursor.rowcount


async def clear_creator_notice(conn: aiosqlite.Connection, digest_id: int) -> None:
    """The creator has been told: forget the pending notice."""
    async with transaction(conn):
        await conn.execute("UPDATE digests SET creator_notice = NULL WHERE id = ?", (digest_id,))


async def seen_items(conn: aiosqlite.Connection, digest_id: int, item_ids: Iterable[str]) -> set[str]:
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


async def begin_run(
    conn: aiosqlite.Connection, digest_id: int, *, now: float, kind: RunKind, item_ids: Sequence[str],
    items_found: int, like_count: int | None, payload: str, note: str | None = None,
) -> PendingRun:
    """Record a run about to be sent, its message and its items, in one statement; returns the run.

    note goes to the run log's error column (what the run left out, e.g. a post deleted meanwhile).
    """
    async with transaction(conn):
        stored = json.dumps({"message": payload, "items": list(item_ids)})
        cursor = await conn.execute(
            "INSERT INTO digest_runs (digest_id, started_at, kind, status, items_found, items_posted, "
            f"like_count, payload, number, error) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, {_NEXT_NUMBER}, ?)",
            (digest_id, now, kind, items_found, len(item_ids), like_count, stored, digest_id, note),
        )
    run_id = cursor.lastrowid
    assert run_id is not None
    async with conn.execute("SELECT number FROM digest_runs WHERE id = ?", (run_id,)) as numbered:
        row = await numbered.fetchone()
    assert row is not None
    return PendingRun(run_id, digest_id, kind, payload, len(item_ids), now, tuple(item_ids), int(row[0]))


def _unpack(stored: str) -> tuple[str, tuple[str, ...]]:
    """The message and item ids of a stored run (a run stored by an older version: its items are in
    digest_items already, undelivered)."""
    value = json.loads(stored)
    if isinstance(value, dict) and set(value) == {"message", "items"}:
        return str(value["message"]), tuple(str(item) for item in value["items"])
    return stored, ()


async def pending_run(conn: aiosqlite.Connection, digest_id: int) -> PendingRun | None:
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
    conn: aiosqlite.Connection, run: PendingRun, *, message_id: int, now: float, next_run_at: float | None,
) -> None:
    """Discord accepted run's message: its items are delivered, the digest is scheduled again."""
    async with transaction(conn):
        await conn.executemany(
            "INSERT OR IGNORE INTO digest_items (digest_id, item_id, run_id, delivered) VALUES (?, ?, ?, 1)",
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
            "UPDATE digests SET baseline_done = MAX(baseline_done, ?), last_run_at = ?, "
            "next_run_at = CASE WHEN state = 'active' THEN ? END, "
            "failures = 0, reason = NULL WHERE id = ?",
            (baseline, now, next_run_at, run.digest_id),
        )


async def abandon_run(conn: aiosqlite.Connection, run: PendingRun, *, error: str) -> None:
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
    conn: aiosqlite.Connection, digest_id: int, *, now: float, status: str, items_found: int = 0,
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


async def run_log(conn: aiosqlite.Connection, digest_id: int, limit: int = 50) -> list[RunRecord]:
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


async def post_checks(conn: aiosqlite.Connection, digest_id: int) -> dict[str, float]:
    """When this digest last read each post's likers (post id -> time); unread posts are absent."""
    async with conn.execute(
        "SELECT post_id, checked_at FROM digest_post_checks WHERE digest_id = ?", (digest_id,)
    ) as cursor:
        return {str(row[0]): float(row[1]) for row in await cursor.fetchall()}


async def mark_posts_checked(
    conn: aiosqlite.Connection, digest_id: int, post_ids: Iterable[str], *, now: float, forget_before: float,
) -> None:
    """Record that post_ids' likers were read now; checks older than forget_before are dropped."""
    async with transaction(conn):
        await conn.executemany(
            "INSERT OR REPLACE INTO digest_post_checks (digest_id, post_id, checked_at) VALUES (?, ?, ?)",
            [(digest_id, post_id, now) for post_id in post_ids],
        )
        # Posts that left the window are no longer read: their rows would only grow the table.
        await conn.execute(
            "DELETE FROM digest_post_checks WHERE digest_id = ? AND checked_at < ?",
            (digest_id, forget_before),
        )


async def query_plan(conn: aiosqlite.Connection, sql: str, args: Sequence[object]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN lines for sql (to prove a query uses an index)."""
    async with conn.execute(f"EXPLAIN QUERY PLAN {sql}", tuple(args)) as cursor:
        return [str(row[-1]) for row in await cursor.fetchall()]
