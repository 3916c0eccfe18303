"""What LikeLens has seen of an X account's posts: their likers, their like counts over time, reads.

- Recorded likers (post_likers): one row per (account, post, liker), with the liker's handle, when
  LikeLens first saw the like, and from where (a digest run, a lookup, a live event). Seen again:
  the handle is refreshed, first_seen and source stay.
- Like-count samples (like_count_samples): (account, post, at, like_count), from batched post
  lookups and runs. A sample equal to the post's newest one and less than SAMPLE_MIN_GAP_SECONDS
  after it adds nothing to a chart and is skipped.
- Likers reads (post_liker_reads): when the post's likers were last read from X, and the like count
  then, so the supporters board reads a post again only when it has new likes.

Rows are keyed by the account (X user id) whose token read them: nothing read for one server's
account is answered for another account.

Bounds (`prune`): nothing older than HISTORY_MAX_AGE_DAYS (92: the longest board, 90 days, plus 2
for clocks), at most LIKERS_KEPT_PER_POST likers (newest first seen) and SAMPLES_KEPT_PER_POST
samples (newest) per post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from store.engine import Database
from store.transactions import transaction

LikeSource = Literal["digest", "lookup", "live"]
DAY_SECONDS = 86400.0
HISTORY_MAX_AGE_DAYS = 92
LIKERS_KEPT_PER_POST = 1000
SAMPLES_KEPT_PER_POST = 500
SAMPLE_MIN_GAP_SECONDS = 3600.0
# SQLite allows 999 bound parameters in old builds; stay well below.
_IN_CHUNK = 400


@dataclass(frozen=True, slots=True)
class RecordedLiker:
    """One like LikeLens has seen."""

    post_id: str
    liker_id: str
    handle: str
    first_seen: float
    source: LikeSource


@dataclass(frozen=True, slots=True)
class LikeCountSample:
    """The post's like count as X reported it at `at` (Unix seconds)."""

    post_id: str
    at: float
    like_count: int


@dataclass(frozen=True, slots=True)
class LikersRead:
    """When the post's likers were last read from X, and its like count then (None: not known)."""

    post_id: str
    read_at: float
    like_count: int | None


@dataclass(frozen=True, slots=True)
class HistoryPruned:
    """How many rows each bound deleted."""

    likers: int
    samples: int
    reads: int


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start:start + _IN_CHUNK]


def _source(value: object) -> LikeSource:
    text = str(value)
    return "digest" if text == "digest" else "live" if text == "live" else "lookup"


class LikeHistory:
    """Records and reads the like history of accounts' posts in the store's SQLite database."""

    def __init__(self, conn: Database) -> None:
        self._conn = conn

    async def record_likers(
        self, account_id: str, post_id: str, likers: Iterable[tuple[str, str]], *, source: LikeSource,
        now: float,
    ) -> int:
        """Record (liker id, handle) pairs as likers of the post; returns how many were new."""
        if source not in get_args(LikeSource):
            raise ValueError(f"unknown like source {source!r}: expected digest, lookup or live")
        async with transaction(self._conn):
            return await self._insert_likers(account_id, post_id, likers, source, now)

    async def _insert_likers(
        self, account_id: str, post_id: str, likers: Iterable[tuple[str, str]], source: LikeSource,
        now: float,
    ) -> int:
        rows = list({liker_id: handle for liker_id, handle in likers}.items())
        if not rows:
            return 0
        inserted = await self._conn.executemany(
            "INSERT INTO post_likers (account_id, post_id, liker_id, handle, first_seen, source) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(account_id, post_id, liker_id, handle, now, source) for liker_id, handle in rows],
        )
        new = inserted.rowcount
        # A liker seen again keeps when and where first seen; only a changed handle is refreshed.
        await self._conn.executemany(
            "UPDATE post_likers SET handle = ? WHERE account_id = ? AND post_id = ? AND liker_id = ? "
            "AND handle != ?",
            [(handle, account_id, post_id, liker_id, handle) for liker_id, handle in rows],
        )
        return new

    async def record_read(
        self, account_id: str, post_id: str, likers: Iterable[tuple[str, str]], *, like_count: int | None,
        now: float,
    ) -> int:
        """Record a page of likers read from X (source lookup) and when, with the post's like count
        then; returns how many likers were new."""
        async with transaction(self._conn):
            new = await self._insert_likers(account_id, post_id, likers, "lookup", now)
            await self._conn.execute(
                "INSERT INTO post_liker_reads (account_id, post_id, read_at, like_count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, post_id) DO UPDATE SET read_at = excluded.read_at, "
                "like_count = excluded.like_count",
                (account_id, post_id, now, like_count),
            )
        return new

    async def record_like_counts(self, account_id: str, counts: Mapping[str, int], *, now: float) -> int:
        """Record the like counts X reported now for these posts (one batch); returns samples added."""
        if not counts:
            return 0
        async with transaction(self._conn):
            newest = await self._newest_samples(account_id, list(counts))
            rows = [(account_id, post_id, now, count) for post_id, count in counts.items()
                    if not _adds_nothing(newest.get(post_id), count, now)]
            if not rows:
                return 0
            cursor = await self._conn.executemany(
                "INSERT INTO like_count_samples (account_id, post_id, at, like_count) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING", rows,
            )
        return cursor.rowcount

    async def _newest_samples(self, account_id: str, post_ids: Sequence[str]) -> dict[str, LikeCountSample]:
        found: dict[str, LikeCountSample] = {}
        for chunk in _chunks(post_ids):
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                # The newest sample of each post (a portable form of SQLite's bare column beside MAX()).
                f"SELECT post_id, at, like_count FROM like_count_samples AS s WHERE account_id = ? "
                f"AND post_id IN ({marks}) AND at = (SELECT MAX(at) FROM like_count_samples AS newer "
                f"WHERE newer.account_id = s.account_id AND newer.post_id = s.post_id)", (account_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    found[str(row[0])] = LikeCountSample(str(row[0]), float(row[1]), int(row[2]))
        return found

    async def likers_of(self, account_id: str, post_ids: Iterable[str]) -> dict[str, list[RecordedLiker]]:
        """The recorded likers of each of these posts (posts with none are left out), oldest first."""
        found: dict[str, list[RecordedLiker]] = {}
        for chunk in _chunks(list(dict.fromkeys(post_ids))):
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT post_id, liker_id, handle, first_seen, source FROM post_likers WHERE account_id = ? "
                f"AND post_id IN ({marks}) ORDER BY first_seen, liker_id", (account_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    found.setdefault(str(row[0]), []).append(RecordedLiker(
                        str(row[0]), str(row[1]), str(row[2]), float(row[3]), _source(row[4])))
        return found

    async def newest_likers(self, account_id: str, post_id: str, *, limit: int = 5) -> list[RecordedLiker]:
        """The post's `limit` most recently first-seen likers, newest first."""
        async with self._conn.execute(
            "SELECT post_id, liker_id, handle, first_seen, source FROM post_likers WHERE account_id = ? "
            "AND post_id = ? ORDER BY first_seen DESC, liker_id LIMIT ?", (account_id, post_id, limit),
        ) as cursor:
            return [RecordedLiker(str(r[0]), str(r[1]), str(r[2]), float(r[3]), _source(r[4]))
                    for r in await cursor.fetchall()]

    async def reads_of(self, account_id: str, post_ids: Iterable[str]) -> dict[str, LikersRead]:
        """When each of these posts' likers were last read (posts never read are left out)."""
        found: dict[str, LikersRead] = {}
        for chunk in _chunks(list(dict.fromkeys(post_ids))):
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT post_id, read_at, like_count FROM post_liker_reads WHERE account_id = ? "
                f"AND post_id IN ({marks})", (account_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    found[str(row[0])] = LikersRead(str(row[0]), float(row[1]),
                                                    None if row[2] is None else int(row[2]))
        return found

    async def recent_posts(self, account_id: str, *, since: float, limit: int = 500) -> list[str]:
        """The account's posts with a liker or a like count recorded since `since`, newest activity first."""
        async with self._conn.execute(
            "SELECT post_id, MAX(seen) AS newest FROM ("
            "SELECT post_id, first_seen AS seen FROM post_likers WHERE account_id = ? AND first_seen >= ? "
            "UNION ALL SELECT post_id, at AS seen FROM like_count_samples WHERE account_id = ? AND at >= ?"
            ") AS activity GROUP BY post_id ORDER BY newest DESC, post_id LIMIT ?",
            (account_id, since, account_id, since, limit),
        ) as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]

    async def recorded_accounts(self, *, since: float) -> list[str]:
        """The accounts (X user ids) with like-count samples or likers recorded since `since`."""
        async with self._conn.execute(
            "SELECT account_id FROM post_likers WHERE first_seen >= ? "
            "UNION SELECT account_id FROM like_count_samples WHERE at >= ?", (since, since),
        ) as cursor:
            return sorted(str(row[0]) for row in await cursor.fetchall())

    async def like_counts(self, account_id: str, post_id: str) -> list[LikeCountSample]:
        """The post's like-count samples, oldest first."""
        async with self._conn.execute(
            "SELECT post_id, at, like_count FROM like_count_samples WHERE account_id = ? AND post_id = ? "
            "ORDER BY at", (account_id, post_id),
        ) as cursor:
            return [LikeCountSample(str(r[0]), float(r[1]), int(r[2])) for r in await cursor.fetchall()]

    async def prune(self, *, now: float) -> HistoryPruned:
        """Delete what is past the bounds at `now` (Unix seconds), in one transaction."""
        cutoff = now - HISTORY_MAX_AGE_DAYS * DAY_SECONDS
        async with transaction(self._conn):
            old_likers = await self._conn.execute("DELETE FROM post_likers WHERE first_seen < ?", (cutoff,))
            many_likers = await self._conn.execute(
                "DELETE FROM post_likers WHERE (account_id, post_id, liker_id) IN ("
                "SELECT account_id, post_id, liker_id FROM (SELECT account_id, post_id, liker_id, "
                "ROW_NUMBER() OVER (PARTITION BY account_id, post_id ORDER BY first_seen DESC, liker_id) "
                "AS newness FROM post_likers) AS ranked WHERE newness > ?)", (LIKERS_KEPT_PER_POST,),
            )
            old_samples = await self._conn.execute("DELETE FROM like_count_samples WHERE at < ?", (cutoff,))
            many_samples = await self._conn.execute(
                "DELETE FROM like_count_samples WHERE (account_id, post_id, at) IN ("
                "SELECT account_id, post_id, at FROM (SELECT account_id, post_id, at, "
                "ROW_NUMBER() OVER (PARTITION BY account_id, post_id ORDER BY at DESC) AS newness "
                "FROM like_count_samples) AS ranked WHERE newness > ?)",
                (SAMPLES_KEPT_PER_POST,),
            )
            reads = await self._conn.execute("DELETE FROM post_liker_reads WHERE read_at < ?", (cutoff,))
        return HistoryPruned(old_likers.rowcount + many_likers.rowcount,
                             old_samples.rowcount + many_samples.rowcount, reads.rowcount)


def _adds_nothing(newest: LikeCountSample | None, like_count: int, now: float) -> bool:
    return newest is not None and newest.like_count == like_count and now - newest.at < SAMPLE_MIN_GAP_SECONDS
