"""Live likes in SQLite: LikeLens' like.create subscriptions, the recorded like events, each live
digest's position in them, and the notes its next message carries (migration 13).

An event is recorded here before anything is posted (so a crash after recording posts it once after
a restart), deduplicated by X's event_uuid and by (account, direction, post, liker). An event whose
liker X left out is recorded with liker_id NULL and resolved later from liking_users. Every write
runs in `store.transactions.transaction`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from store.engine import Database
from store.transactions import transaction
from xapi.models import User

ALIVE_KEY = "live_stream_alive"
# The end of the newest stream gap X's backfill could not cover (likes in it may be missing).
GAP_END_KEY = "live_stream_gap_end"
# Recorded likes are kept this long (store/pruning.py), so a scheduled digest whose last run is older
# than this reads X instead.
KEPT_DAYS = 30


@dataclass(frozen=True, slots=True)
class RecordedLike:
    """One recorded like: who (None until resolved) liked which post, for which account and direction."""

    id: int
    account_id: str
    direction: str
    post_id: str
    liker: User | None


def _user_json(user: User) -> str:
    return json.dumps({"id": user.id, "username": user.username, "name": user.name})


def _user(raw: str | None) -> User | None:
    if raw is None:
        return None
    value = json.loads(raw)
    return User(id=str(value["id"]), username=str(value["username"]), name=str(value["name"]))


async def record_like(
    conn: Database, *, event_uuid: str | None, account_id: str, direction: str, post_id: str,
    liker: User | None, liked_at: float | None, now: float,
) -> int | None:
    """Record one like; its row id, or None when it was recorded already (same uuid, or post + liker)."""
    async with transaction(conn):
        cursor = await conn.execute(
            "INSERT INTO like_events (event_uuid, account_id, direction, post_id, liker_id, "
            "liker_json, liked_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (event_uuid, account_id, direction, post_id, liker.id if liker else None,
             _user_json(liker) if liker else None, liked_at, now),
        )
        row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def unresolved(conn: Database, post_id: str) -> list[int]:
    """The ids of the post's recorded likes whose liker is not known yet, oldest first."""
    async with conn.execute(
        "SELECT id FROM like_events WHERE post_id = ? AND liker_id IS NULL ORDER BY id", (post_id,)
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def unresolved_posts(conn: Database) -> list[tuple[str, str]]:
    """(account id, post id) of every post with likes whose liker is not known yet (after a restart)."""
    async with conn.execute(
        "SELECT DISTINCT account_id, post_id FROM like_events WHERE liker_id IS NULL"
    ) as cursor:
        return [(str(r[0]), str(r[1])) for r in await cursor.fetchall()]


async def known_likers(conn: Database, account_id: str, direction: str, post_id: str) -> set[str]:
    """The likers already recorded for the post."""
    async with conn.execute(
        "SELECT liker_id FROM like_events WHERE account_id = ? AND direction = ? AND post_id = ? "
        "AND liker_id IS NOT NULL", (account_id, direction, post_id),
    ) as cursor:
        return {str(row[0]) for row in await cursor.fetchall()}


async def resolve(
    conn: Database, *, account_id: str, direction: str, post_id: str, waiting: Sequence[int],
    newest_likers: Sequence[User],
) -> int:
    """Fill the post's unresolved likes `waiting` (recorded before liking_users was read) from its newest
    likers (newest first): each takes a liker not recorded yet; those left over (no such liker: a
    self-like, a protected liker) are dropped. Returns how many likers were filled in."""
    async with transaction(conn):
        known = await known_likers(conn, account_id, direction, post_id)
        fresh = [u for u in newest_likers if u.id not in known][:len(waiting)]
        # The oldest waiting like gets the oldest of the fresh likers: the list is newest first.
        for row_id, user in zip(waiting, reversed(fresh), strict=False):
            await conn.execute("UPDATE like_events SET liker_id = ?, liker_json = ? WHERE id = ?",
                               (user.id, _user_json(user), row_id))
        leftover = waiting[len(fresh):]
        await conn.executemany("DELETE FROM like_events WHERE id = ?", [(row_id,) for row_id in leftover])
    return len(fresh)


async def likes_after(
    conn: Database, after_id: int, *, account_id: str, direction: str, post_id: str | None = None,
    limit: int = 500,
) -> list[RecordedLike]:
    """Recorded likes after row after_id of the account and direction (of one post, when given), in order."""
    sql = ("SELECT id, account_id, direction, post_id, liker_json FROM like_events "
           "WHERE id > ? AND account_id = ? AND direction = ?")
    args: tuple[object, ...] = (after_id, account_id, direction)
    if post_id is not None:
        sql += " AND post_id = ?"
        args += (post_id,)
    async with conn.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)) as cursor:
        rows = await cursor.fetchall()
    return [RecordedLike(int(r[0]), str(r[1]), str(r[2]), str(r[3]), _user(r[4])) for r in rows]


async def last_like_id(conn: Database) -> int:
    """The newest recorded like's row id (0: none yet)."""
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM like_events") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def cursor_of(conn: Database, digest_id: int) -> int | None:
    """The last recorded like the live digest has dealt with (None: no baseline yet)."""
    sql = "SELECT last_event_id FROM live_cursors WHERE digest_id = ?"
    async with conn.execute(sql, (digest_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else int(row[0])


async def set_cursor(conn: Database, digest_id: int, last_event_id: int) -> None:
    """Move the live digest past last_event_id (joins the caller's transaction, if any)."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO live_cursors (digest_id, last_event_id) VALUES (?, ?) ON CONFLICT (digest_id) "
            "DO UPDATE SET last_event_id = CASE WHEN live_cursors.last_event_id > excluded.last_event_id "
            "THEN live_cursors.last_event_id ELSE excluded.last_event_id END",
            (digest_id, last_event_id))


async def add_note(conn: Database, digest_ids: Iterable[int], text: str) -> None:
    """A sentence each digest's next live message carries (e.g. a stream gap)."""
    async with transaction(conn):
        await conn.executemany("INSERT INTO live_notes (digest_id, text) VALUES (?, ?)",
                               [(digest_id, text) for digest_id in digest_ids])


async def notes_of(conn: Database, digest_id: int) -> list[tuple[int, str]]:
    """The digest's waiting notes (id, text), oldest first."""
    sql = "SELECT id, text FROM live_notes WHERE digest_id = ? ORDER BY id"
    async with conn.execute(sql, (digest_id,)) as c:
        return [(int(r[0]), str(r[1])) for r in await c.fetchall()]


async def drop_notes(conn: Database, note_ids: Iterable[int]) -> None:
    """The notes went into a run's message (joins the caller's transaction)."""
    async with transaction(conn):
        await conn.executemany("DELETE FROM live_notes WHERE id = ?", [(n,) for n in note_ids])


async def subscriptions(conn: Database) -> dict[tuple[str, str], str]:
    """LikeLens' subscriptions as recorded: (account id, direction) -> X's subscription id."""
    sql = "SELECT account_id, direction, subscription_id FROM live_subscriptions"
    async with conn.execute(sql) as cursor:
        return {(str(r[0]), str(r[1])): str(r[2]) for r in await cursor.fetchall()}


async def save_subscription(
    conn: Database, account_id: str, direction: str, subscription_id: str, *, now: float,
) -> None:
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO live_subscriptions (account_id, direction, subscription_id, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, direction) DO UPDATE SET "
            "subscription_id = excluded.subscription_id, created_at = excluded.created_at",
            (account_id, direction, subscription_id, now))


async def forget_subscription(conn: Database, account_id: str, direction: str) -> None:
    async with transaction(conn):
        await conn.execute("DELETE FROM live_subscriptions WHERE account_id = ? AND direction = ?",
                           (account_id, direction))


async def record_gap(conn: Database, end: float) -> None:
    """A stream gap beyond the backfill ended at `end`: scheduled digests whose window it touches poll X."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
            "CASE WHEN CAST(meta.value AS DOUBLE PRECISION) > CAST(excluded.value AS DOUBLE PRECISION) "
            "THEN meta.value ELSE excluded.value END", (GAP_END_KEY, str(end)))


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the store knows of the stream: since when an account's likes are recorded, when the stream
    was last alive and when its newest unrecoverable gap ended (None: never)."""

    subscribed_at: float | None
    alive_at: float | None
    gap_end: float | None


async def coverage(conn: Database, account_id: str, direction: str) -> Coverage:
    async with conn.execute(
        "SELECT (SELECT created_at FROM live_subscriptions WHERE account_id = ? AND direction = ?), "
        "(SELECT CAST(value AS DOUBLE PRECISION) FROM meta WHERE key = ?), "
        "(SELECT CAST(value AS DOUBLE PRECISION) FROM meta WHERE key = ?)",
        (account_id, direction, ALIVE_KEY, GAP_END_KEY),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return Coverage(*(None if value is None else float(value) for value in row))


async def recorded_likers(conn: Database, account_id: str, post_id: str) -> list[User]:
    """The known likers recorded for the account's post (inbound), newest first."""
    async with conn.execute(
        "SELECT liker_json FROM like_events WHERE account_id = ? AND direction = 'inbound' AND post_id = ? "
        "AND liker_id IS NOT NULL ORDER BY id DESC", (account_id, post_id),
    ) as cursor:
        rows = await cursor.fetchall()
    return [user for row in rows if (user := _user(row[0])) is not None]


async def live_digest_ids(conn: Database) -> list[int]:
    """The ids of every live digest (`every:live`, stored as every_seconds 0), any state."""
    async with conn.execute("SELECT id FROM digests WHERE every_seconds = 0 ORDER BY id") as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]
