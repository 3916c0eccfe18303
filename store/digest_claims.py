"""Claims of due digests: of the deployment's bot processes on one database, exactly one runs each.

A tick claims due digests (`claimed_by` = its process, `claim_expires_at` = now + the lease) in one
transaction, and only digests nobody holds: unclaimed ones and those whose claim expired (a
process killed mid-tick: its claims are taken over after the lease). The statements that end a
run (store/digests.py's `set_schedule`, `set_state(ends_run=True)`, store/digest_runs.py's
`finish_run`) clear the claim as they move `next_run_at`; a process stopping cleanly releases the
claims it did not finish.

Whole subjects are claimed: the scheduler reads X once for every digest of a subject (kind, id,
account) in a tick, so one process takes all of a subject's due digests, never a part (N processes
then send no more X requests than one). The transaction locks one leader row per due subject
(`FOR UPDATE SKIP LOCKED` on PostgreSQL: a subject another process is claiming is skipped, not
waited for; on SQLite `BEGIN IMMEDIATE` already runs claims one at a time), then claims the due,
unheld rows of the leaders' subjects in one UPDATE, whose own condition keeps claims disjoint.

Shards: a process running some of the deployment's shards picks the subjects with a digest of a
server on its shards, and those with a digest overdue by more than the lease (its own process is
dead or stuck: the takeover); a picked subject comes whole, other shards' servers included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from store.digests import DIGEST_COLUMNS, Digest, digest_from_row
from store.engine import Database, Row
from store.transactions import transaction

# How long a claim holds: a tick renews its claims well before (digests/scheduler.py).
CLAIM_SECONDS = 120.0
# A guild's shard is (guild_id >> 22) % shard_count: Discord's routing, in SQL's integer division.
SHARD_DIVISOR = 1 << 22
_IN_CHUNK = 500
# Free to claim: nobody's, or its claim expired (a tick's own claims are not claimed twice).
_UNCLAIMED = "(claimed_by IS NULL OR claim_expires_at <= ?)"
# /digest run may also take a claim the process holds already.
_UNHELD = "(claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?)"
# A subject, as a row value (an account of NULL, a digest added before accounts were recorded, is '').
_SUBJECT = "subject_kind, subject_id, COALESCE(account_id, '')"


@dataclass(frozen=True, slots=True)
class Shards:
    """The Discord shards this process runs (`ids`) of the deployment's `count`."""

    count: int
    ids: tuple[int, ...]

    def owns(self, guild_id: int) -> bool:
        """Whether guild_id's events come to this process (its shard is one of ours)."""
        return (guild_id >> 22) % self.count in self.ids


def own_shards(count: int | None, ids: Iterable[int] | None) -> Shards | None:
    """This process's shards from SHARD_COUNT and SHARD_IDS; None when it runs every shard."""
    if count is None or ids is None:
        return None
    mine = tuple(sorted(set(ids)))
    if set(mine) >= set(range(count)):
        return None
    return Shards(count, mine)


def _leaders_sql(shards: Shards | None, skipped: int) -> str:
    """One leader (lowest id) per due subject nobody holds, most overdue first, with its due count."""
    mine = "1"
    if shards is not None:
        marks = ",".join("?" * len(shards.ids))
        on_mine = f"(guild_id / {SHARD_DIVISOR}) % ? IN ({marks})"
        mine = f"CASE WHEN {on_mine} OR next_run_at <= ? THEN 1 ELSE 0 END"
    # Subjects this claim tried already (claimed, or another process was claiming them): passed over.
    passed = f" AND MIN(id) NOT IN ({','.join('?' * skipped)})" if skipped else ""
    return (
        "SELECT MIN(id) AS leader, COUNT(*) AS n FROM digests "
        f"WHERE next_run_at <= ? AND {_UNCLAIMED} "
        f"GROUP BY subject_kind, subject_id, account_id HAVING MAX({mine}) = 1{passed} "
        "ORDER BY MIN(next_run_at), MIN(id) LIMIT ?"
    )


def leaders_query(
    *, now: float, lease_seconds: float, limit: int, shards: Shards | None, skipped: Sequence[int] = (),
) -> tuple[str, tuple[object, ...]]:
    """The leader query and its arguments, as claim_due runs it (to prove it reads through an index)."""
    mine: tuple[object, ...] = ()
    if shards is not None:
        mine = (shards.count, *shards.ids, now - lease_seconds)
    return _leaders_sql(shards, len(skipped)), (now, now, *mine, *skipped, limit)


async def claim_due(
    conn: Database, holder: str, *, now: float, lease_seconds: float = CLAIM_SECONDS, limit: int,
    shards: Shards | None = None,
) -> list[Digest]:
    """Claim for holder the due digests of whole subjects, up to limit of them (a subject larger than
    limit comes whole, alone); most overdue first. Subjects another process is claiming are skipped."""
    claimed: list[Row] = []
    # Leaders already tried: claimed now, or locked by another process claiming their subject.
    tried: list[int] = []
    async with transaction(conn):
        while len(claimed) < limit:
            # Each subject has a due digest at least: no more subjects than digests still wanted.
            wanted = limit - len(claimed)
            sql, args = leaders_query(
                now=now, lease_seconds=lease_seconds, limit=wanted, shards=shards, skipped=tried)
            chosen: list[int] = []
            total = len(claimed)
            for leader_id, count in await conn.execute_fetchall(sql, args):
                if (claimed or chosen) and total + int(count) > limit:
                    break
                chosen.append(int(leader_id))
                total += int(count)
            if not chosen:
                break
            tried += chosen
            locked = await _lock_leaders(conn, chosen)
            claimed += await _claim_subjects(conn, holder, locked, now=now, lease_seconds=lease_seconds)
    digests = [digest_from_row(row) for row in claimed]
    return sorted(digests, key=lambda d: (d.next_run_at or 0.0, d.id))


async def _lock_leaders(conn: Database, leader_ids: list[int]) -> list[int]:
    """The leaders this transaction could lock (PostgreSQL; SQLite's BEGIN IMMEDIATE holds them all)."""
    if conn.dialect != "postgresql":
        return leader_ids
    marks = ",".join("?" * len(leader_ids))
    rows = await conn.execute_fetchall(
        f"SELECT id FROM digests WHERE id IN ({marks}) FOR UPDATE SKIP LOCKED", tuple(leader_ids))
    locked = {int(row[0]) for row in rows}
    return [leader for leader in leader_ids if leader in locked]


async def _claim_subjects(
    conn: Database, holder: str, leader_ids: list[int], *, now: float, lease_seconds: float
) -> list[Row]:
    """Claim the due, unclaimed digests of the leaders' subjects; their rows."""
    rows: list[Row] = []
    if not leader_ids:
        return rows
    for start in range(0, len(leader_ids), _IN_CHUNK):
        chunk = leader_ids[start:start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows += await conn.execute_fetchall(
            "UPDATE digests SET claimed_by = ?, claim_expires_at = ? "
            f"WHERE next_run_at <= ? AND {_UNCLAIMED} AND ({_SUBJECT}) IN (SELECT {_SUBJECT} FROM digests "
            f"WHERE id IN ({marks})) RETURNING {DIGEST_COLUMNS}",
            (holder, now + lease_seconds, now, now, *chunk),
        )
    return rows


async def claim_one(
    conn: Database, digest_id: int, holder: str, *, now: float, lease_seconds: float = CLAIM_SECONDS,
) -> bool:
    """Claim one digest for holder, due or not (/digest run); False while another process holds it."""
    async with transaction(conn):
        cursor = await conn.execute(
            "UPDATE digests SET claimed_by = ?, claim_expires_at = ? "
            f"WHERE id = ? AND {_UNHELD} RETURNING id",
            (holder, now + lease_seconds, digest_id, holder, now),
        )
        return await cursor.fetchone() is not None


async def renew_claims(
    conn: Database, holder: str, digest_ids: Iterable[int], *, now: float,
    lease_seconds: float = CLAIM_SECONDS,
) -> set[int]:
    """Extend holder's claims of digest_ids to now + lease; returns the ids holder still holds."""
    wanted = list(dict.fromkeys(digest_ids))
    held: set[int] = set()
    async with transaction(conn):
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = await conn.execute_fetchall(
                "UPDATE digests SET claim_expires_at = ? "
                f"WHERE claimed_by = ? AND id IN ({marks}) RETURNING id",
                (now + lease_seconds, holder, *chunk),
            )
            held.update(int(row[0]) for row in rows)
    return held


async def release_claims(conn: Database, holder: str, digest_ids: Iterable[int] | None = None) -> int:
    """Give up holder's claims (of digest_ids; None: all of them) at once; returns how many."""
    async with transaction(conn):
        if digest_ids is None:
            cursor = await conn.execute(
                "UPDATE digests SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ?",
                (holder,))
            return max(0, cursor.rowcount)
        wanted = list(dict.fromkeys(digest_ids))
        released = 0
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            cursor = await conn.execute(
                "UPDATE digests SET claimed_by = NULL, claim_expires_at = NULL "
                f"WHERE claimed_by = ? AND id IN ({marks})", (holder, *chunk))
            released += max(0, cursor.rowcount)
        return released
