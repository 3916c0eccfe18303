"""Pure scheduling decisions for digests: intervals, catch-up, backoff, budget reserve.

No I/O here: the scheduler asks these functions and acts on the answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xapi.ratelimit import RateBudget

# "live" (0): posted from X's activity stream as likes arrive (digests/live_feed.py), never scheduled.
LIVE = "live"
EVERY_SECONDS: dict[str, int] = {"1h": 3600, "6h": 6 * 3600, "12h": 12 * 3600, "24h": 24 * 3600, LIVE: 0}
MAX_FAILURES = 8
BACKOFF_BASE_SECONDS = 300.0
BACKOFF_CAP_SECONDS = 6 * 3600.0
# Share of an endpoint's window that digests leave for moderators' commands.
RESERVED_SHARE = 0.25
# After a reset, wait a little: X's clock and ours differ by a second or two.
RESET_SLACK_SECONDS = 5.0


def every_label(seconds: int) -> str:
    """The `every:` choice for an interval ("6h"), or a plain number of hours."""
    for label, value in EVERY_SECONDS.items():
        if value == seconds:
            return label
    return f"{seconds / 3600:g}h"


def is_live(every_seconds: int) -> bool:
    """A live digest (`every:live`) has no schedule: the activity stream drives it."""
    return every_seconds == EVERY_SECONDS[LIVE]


def next_run_after_success(now: float, every_seconds: int) -> float:
    """The next run after a run at now: one period later, however late this run was.

    A bot that was down for a day therefore runs each missed digest once, not once per missed period.
    """
    return now + every_seconds


def backoff_seconds(failures: int, every_seconds: int) -> float:
    """Delay before the next try after `failures` X failures in a row (exponential, capped)."""
    delay = BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0)
    return float(min(delay, BACKOFF_CAP_SECONDS, max(float(every_seconds), BACKOFF_BASE_SECONDS)))


@dataclass(frozen=True, slots=True)
class FailureDecision:
    """What to do with a digest after one more failure."""

    failures: int
    disable: bool
    next_run_at: float | None


def after_failure(now: float, failures_before: int, every_seconds: int) -> FailureDecision:
    """Back off, or disable the digest once MAX_FAILURES failures came in a row."""
    failures = failures_before + 1
    if failures >= MAX_FAILURES:
        return FailureDecision(failures, True, None)
    return FailureDecision(failures, False, now + backoff_seconds(failures, every_seconds))


def reserved_requests(limit: int) -> int:
    """How many requests of a window digests leave to moderators (a quarter, at least one)."""
    return max(1, math.ceil(limit * RESERVED_SHARE))


def digests_may_spend(budget: RateBudget | None, now: float) -> bool:
    """True when a digest may send one more request to this endpoint now.

    Unknown budget (X has not answered yet) or a window that has reset: yes. Otherwise only while
    more than the reserved quarter remains.
    """
    if budget is None or now >= budget.reset_at.timestamp():
        return True
    return budget.remaining > reserved_requests(budget.limit)


def outage_retry_at(now: float, overdue_since: float, every_seconds: int) -> float:
    """When to look again at a digest whose server is unavailable (a Discord outage).

    As long as it has been overdue (at least BACKOFF_BASE_SECONDS, at most one period or the cap):
    the waits grow while the outage lasts, and it is never disabled for it.
    """
    waited = max(now - overdue_since, BACKOFF_BASE_SECONDS)
    return now + min(waited, max(float(every_seconds), BACKOFF_BASE_SECONDS), BACKOFF_CAP_SECONDS)


def run_after_reset(reset_at: float, now: float) -> float:
    """When a rate-limited digest runs again: just after the window resets."""
    return max(reset_at, now) + RESET_SLACK_SECONDS
