"""Bounds on what the database keeps: `prune(conn, now=…, guild_left_reason=…)` deletes what is past them.

- Runs (digest_runs): the newest RUNS_KEPT_PER_DIGEST of each digest, none older than
  RUN_MAX_AGE_DAYS; a digest's newest run is always kept (the next run's number follows it, and
  `/digest list` shows when it last ran) and a pending run is never deleted (it may be unsent).
- Seen items of `recent` digests (digest_items): a `recent` digest reads only posts of the last
  7 days, so an item delivered by a run older than RECENT_ITEMS_MAX_AGE_DAYS belongs to a post it
  will never read again. Runs ids grow with time, so "delivered before the cutoff" is "run id at
  most the newest run id started before the cutoff" (still right when that run was pruned).
  Post and liked digests keep their items for good: X may list an old liker again.
- Digests disabled because the bot left their server (reason `guild_left_reason`) and not run
  for LEFT_SERVER_DAYS: deleted, with their runs and items (ON DELETE CASCADE).
- Paginator states (browse_states) untouched for BROWSE_STATE_DAYS (the paginator's own bound).
- Recorded like events (like_events, the live feed's): those recorded more than
  like_events.KEPT_DAYS (30) days ago that every live digest has passed (its cursor); a like a live
  digest has not posted yet is kept, however old. Scheduled digests read them only for windows
  newer than that bound (digests/recorded_likes.py). Live digests' runs are digest runs: the run
  bounds above apply to them too.
- Like history (recorded likers, like-count samples, likers reads): store.like_history's bounds
  (92 days; 1000 likers and 500 samples a post), in a transaction of its own after the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from store import like_events
from store.engine import Database
from store.like_history import LikeHistory
from store.transactions import transaction

DAY_SECONDS = 86400.0
RUNS_KEPT_PER_DIGEST = 50
RUN_MAX_AGE_DAYS = 90
# The 7-day window of `recent` digests plus 2 days for clocks and late runs.
RECENT_ITEMS_MAX_AGE_DAYS = 9
LEFT_SERVER_DAYS = 30
BROWSE_STATE_DAYS = 30


@dataclass(frozen=True, slots=True)
class PruneReport:
    """How many rows each bound deleted."""

    runs: int
    digest_items: int
    digests: int
    browse_states: int
    likers: int = 0
    like_samples: int = 0
    like_events: int = 0


async def prune(conn: Database, *, now: float, guild_left_reason: str) -> PruneReport:
    """Delete what is past the bounds at `now` (Unix seconds), in one transaction."""
    async with transaction(conn):
        left = await conn.execute(
            "DELETE FROM digests WHERE state = 'disabled' AND reason = ? "
            "AND COALESCE(last_run_at, created_at) < ?",
            (guild_left_reason, now - LEFT_SERVER_DAYS * DAY_SECONDS),
        )
        runs = await conn.execute(
            "DELETE FROM digest_runs WHERE id IN (SELECT id FROM ("
            "  SELECT id, status, started_at, "
            "  ROW_NUMBER() OVER (PARTITION BY digest_id ORDER BY id DESC) AS newness FROM digest_runs"
            ") AS ranked WHERE newness > 1 AND status != 'pending' AND (newness > ? OR started_at < ?))",
            (RUNS_KEPT_PER_DIGEST, now - RUN_MAX_AGE_DAYS * DAY_SECONDS),
        )
        items = await conn.execute(
            "DELETE FROM digest_items WHERE run_id <= ("
            "  SELECT COALESCE(MAX(id), 0) FROM digest_runs WHERE started_at < ?"
            ") AND digest_id IN (SELECT id FROM digests WHERE subject_kind = 'recent')",
            (now - RECENT_ITEMS_MAX_AGE_DAYS * DAY_SECONDS,),
        )
        browse = await conn.execute(
            "DELETE FROM browse_states WHERE updated_at < ?", (now - BROWSE_STATE_DAYS * DAY_SECONDS,)
        )
        events = await conn.execute(
            "DELETE FROM like_events WHERE recorded_at < ? AND id <= ("
            "  SELECT COALESCE(MIN(last_event_id), (SELECT COALESCE(MAX(id), 0) FROM like_events))"
            "  FROM live_cursors)",
            (now - like_events.KEPT_DAYS * DAY_SECONDS,),
        )
    history = await LikeHistory(conn).prune(now=now)
    return PruneReport(runs.rowcount, items.rowcount, left.rowcount, browse.rowcount, history.likers,
                       history.samples, events.rowcount)
