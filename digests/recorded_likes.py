"""Scheduled digests read the live feed's recorded likes instead of polling liking_users, when they cover
the digest's window: fewer X requests, and no 100-liker cap.

A post or `recent` digest's window (since its last run) is covered when its account has LikeLens' inbound
subscription since before that run, the stream is alive now, and no gap the backfill could not recover
(store/like_events.py `record_gap`) ended after that run: every like of the window is then recorded, or
will be by the stream's backfill (a like recorded late is still new to the next run: runs compare
likers with the digest's delivered items, not times). Otherwise the digest polls X as before.
`liked` digests always poll: a recorded outbound like lacks the post's text and author their entries show.
"""

from __future__ import annotations

from store import like_events as events
from store.digests import Digest
from store.engine import Database
from xapi.models import Page, User

DAY_SECONDS = 86400.0
# The stream stores its alive time every few seconds and counts 30 s without a byte as a drop.
ALIVE_SLACK_SECONDS = 60.0


async def covered(conn: Database, digest: Digest, now: float) -> bool:
    """Whether the recorded likes hold every like of the digest's window (since its last run)."""
    if (digest.subject_kind not in ("post", "recent") or not digest.account_id or not digest.baseline_done
            or digest.last_run_at is None or digest.every_seconds == 0):
        return False
    since = digest.last_run_at
    known = await events.coverage(conn, digest.account_id, "inbound")
    return (known.subscribed_at is not None and known.subscribed_at <= since
            and known.alive_at is not None and known.alive_at >= now - ALIVE_SLACK_SECONDS
            and (known.gap_end is None or known.gap_end < since)
            # Older recorded likes are pruned: a window reaching further back polls.
            and since >= now - events.KEPT_DAYS * DAY_SECONDS)


async def likers_page(conn: Database, account_id: str, post_id: str) -> Page[User]:
    """The post's recorded likers as a page of liking_users would list them (newest first), all of them."""
    likers = tuple(await events.recorded_likers(conn, account_id, post_id))
    return Page(items=likers, result_count=len(likers))
