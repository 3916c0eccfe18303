"""The supporters board of /likes top, decided without I/O: which posts to read, who ranks where, the cost.

Over the account's posts of a period (7, 30 or 90 days) LikeLens answers from what it has
recorded (digests, live events, lookups: store/like_history.py) and reads from X at most one
`liking_users` page (up to 100 likers, all X lists) per post whose likers it has not seen:

- a post X says has no likes is never read;
- a post never read is read, unless recorded likers already number its like count;
- a post read before is read again only when X's like count has grown since that read and the
  recorded likers do not number it (its new likers come first in X's page);
- at most `max_reads` posts per board (X allows 75 liking_users requests per 15 minutes); the
  others wait for the next board, most unseen likes first, then newest.

Likers rank by the number of the period's posts they liked (ties: handle, then id); linked
members are marked. A like withdrawn on X stays counted until the post is read again.
Recognition only: the board lists supporters, it grants nothing (Developer Policy).

The I/O around it is digests/supporters_reading.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from store.like_history import LikersRead, RecordedLiker

PERIOD_DAYS = (7, 30, 90)
DAY_SECONDS = 86400.0
# X's rate limit is 75 liking_users requests per 15 minutes per account: a board leaves room for lookups.
MAX_READS_PER_BOARD = 50
# X's published pay-per-use prices per item returned (x-api-facts.md "Cost"): likes read as
# "Like: Read" ($0.001), or as users ($0.010) if billed as user objects; posts listed $0.005.
LIKE_PRICE = 0.001
USER_PRICE = 0.010
POST_PRICE = 0.005


@dataclass(frozen=True, slots=True)
class PeriodPost:
    """One of the account's posts as X listed it: created when (Unix seconds), its like count now."""

    post_id: str
    created_at: float
    like_count: int | None


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """Which posts to read from X now, and which are left for the next board (over the cap)."""

    to_read: tuple[str, ...]
    deferred: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Supporter:
    """One liker on the board: their X id and handle, the posts they liked, their member if linked."""

    liker_id: str
    handle: str
    posts_liked: int
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class BoardCost:
    """What a board read from X, and its estimate at X's prices."""

    posts_listed: int
    posts_read: int
    likers_returned: int

    @property
    def low_dollars(self) -> float:
        """Likes at "Like: Read" prices, plus the posts listed."""
        return self.posts_listed * POST_PRICE + self.likers_returned * LIKE_PRICE

    @property
    def high_dollars(self) -> float:
        """Likers billed as users, plus the posts listed."""
        return self.posts_listed * POST_PRICE + self.likers_returned * USER_PRICE


def check_period(days: int) -> int:
    """days when it is one of the board's periods; ValueError with a sentence otherwise."""
    if days not in PERIOD_DAYS:
        raise ValueError(f"days must be 7, 30 or 90, not {days}")
    return days


def posts_in_period(posts: Iterable[PeriodPost], *, days: int, now: float) -> list[PeriodPost]:
    """The posts created in the last `days` days before now (no future ones), newest first."""
    start = now - check_period(days) * DAY_SECONDS
    kept = {p.post_id: p for p in posts if start <= p.created_at <= now}
    return sorted(kept.values(), key=lambda p: (p.created_at, p.post_id), reverse=True)


def needs_read(post: PeriodPost, last_read: LikersRead | None, recorded: int) -> bool:
    """Whether X's likers page of this post would show likers LikeLens has not recorded."""
    if post.like_count is None:
        # X did not say: read once, then trust what was recorded.
        return last_read is None
    if post.like_count <= 0 or recorded >= post.like_count:
        return False
    if last_read is None or last_read.like_count is None:
        return True
    return post.like_count > last_read.like_count


def plan_reads(
    posts: Sequence[PeriodPost], reads: Mapping[str, LikersRead], recorded: Mapping[str, int], *,
    max_reads: int = MAX_READS_PER_BOARD,
) -> ReadPlan:
    """The posts to read now (at most max_reads, most unseen likes first, then newest) and the rest."""
    wanted = [p for p in posts if needs_read(p, reads.get(p.post_id), recorded.get(p.post_id, 0))]

    def unseen(post: PeriodPost) -> int:
        # Unknown like count: ranked after every post known to have unseen likes.
        return -1 if post.like_count is None else post.like_count - recorded.get(post.post_id, 0)

    ordered = sorted(wanted, key=lambda p: (-unseen(p), -p.created_at, p.post_id))
    cap = max(0, max_reads)
    return ReadPlan(tuple(p.post_id for p in ordered[:cap]), tuple(p.post_id for p in ordered[cap:]))


def rank_supporters(
    post_ids: Iterable[str], likers: Mapping[str, Sequence[RecordedLiker]], members: Mapping[str, int],
) -> list[Supporter]:
    """Likers of these posts ranked by posts liked (most first; ties by handle, then id).

    members maps an X user id to the linked member's id (that server's links only).
    """
    posts_of: dict[str, set[str]] = {}
    # The handle most recently seen wins (a liker may have renamed between posts).
    latest: dict[str, RecordedLiker] = {}
    for post_id in dict.fromkeys(post_ids):
        for liker in likers.get(post_id, ()):
            posts_of.setdefault(liker.liker_id, set()).add(post_id)
            seen = latest.get(liker.liker_id)
            if seen is None or liker.first_seen >= seen.first_seen:
                latest[liker.liker_id] = liker
    board = [Supporter(liker_id, latest[liker_id].handle, len(liked), members.get(liker_id))
             for liker_id, liked in posts_of.items()]
    board.sort(key=lambda s: (-s.posts_liked, s.handle.casefold(), s.liker_id))
    return board
