"""digests.policy: pure scheduling decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digests import policy as schedule
from xapi.ratelimit import RateBudget

RESET = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BEFORE_RESET = RESET.timestamp() - 60


def budget(limit: int, remaining: int) -> RateBudget:
    return RateBudget("liking_users", limit, remaining, RESET)


def test_after_a_late_run_the_next_is_one_period_later_not_the_missed_ones() -> None:
    assert schedule.next_run_after_success(100_000.0, 3600) == 103_600.0


def test_backoff_doubles_and_is_capped() -> None:
    delays = [schedule.backoff_seconds(n, 24 * 3600) for n in range(1, 9)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == schedule.BACKOFF_CAP_SECONDS
    # Never longer than the digest's own period.
    assert schedule.backoff_seconds(7, 3600) == 3600


def test_the_eighth_failure_in_a_row_disables() -> None:
    seventh = schedule.after_failure(0.0, 6, 3600)
    assert (seventh.failures, seventh.disable) == (7, False) and seventh.next_run_at is not None
    eighth = schedule.after_failure(0.0, 7, 3600)
    assert (eighth.failures, eighth.disable, eighth.next_run_at) == (8, True, None)


@pytest.mark.parametrize(("limit", "reserved"), [(75, 19), (5, 2), (4, 1), (1, 1)])
def test_a_quarter_of_the_window_is_reserved(limit: int, reserved: int) -> None:
    assert schedule.reserved_requests(limit) == reserved
    assert schedule.digests_may_spend(budget(limit, reserved + 1), BEFORE_RESET)
    assert not schedule.digests_may_spend(budget(limit, reserved), BEFORE_RESET)


def test_an_unknown_or_reset_budget_may_be_spent() -> None:
    assert schedule.digests_may_spend(None, BEFORE_RESET)
    assert schedule.digests_may_spend(budget(75, 0), RESET.timestamp())


def test_a_rate_limited_digest_runs_just_after_the_reset() -> None:
    assert schedule.run_after_reset(RESET.timestamp(), BEFORE_RESET) == RESET.timestamp() + 5
    # A reset already past: soon, never in the past.
    assert schedule.run_after_reset(0.0, BEFORE_RESET) == BEFORE_RESET + 5


def test_every_labels_round_trip() -> None:
    for label, seconds in schedule.EVERY_SECONDS.items():
        assert schedule.every_label(seconds) == label


def test_an_outage_is_looked_at_again_less_often_the_longer_it_lasts_up_to_one_period() -> None:
    assert schedule.outage_retry_at(1000.0, 1000.0, 3600) == 1300.0
    assert schedule.outage_retry_at(3000.0, 1000.0, 3600) == 5000.0
    assert schedule.outage_retry_at(90000.0, 1000.0, 3600) == 93600.0
    assert schedule.outage_retry_at(10**6, 0.0, 24 * 3600) == 10**6 + schedule.BACKOFF_CAP_SECONDS
