"""digests.supporters: which posts the board reads, who ranks where, what it costs (fixed data)."""

from __future__ import annotations

import pytest

from digests.supporters import (
    DAY_SECONDS,
    MAX_READS_PER_BOARD,
    BoardCost,
    PeriodPost,
    ReadPlan,
    Supporter,
    check_period,
    needs_read,
    plan_reads,
    posts_in_period,
    rank_supporters,
)
from store.like_history import LikersRead, RecordedLiker

NOW = 1_800_000_000.0


def post(n: int, likes: int | None, *, days_ago: float = 1.0) -> PeriodPost:
    return PeriodPost(f"p{n}", NOW - days_ago * DAY_SECONDS, likes)


def liker(post_id: str, liker_id: str, handle: str, first_seen: float = NOW) -> RecordedLiker:
    return RecordedLiker(post_id, liker_id, handle, first_seen, "lookup")


def test_the_period_keeps_the_posts_of_its_days_newest_first() -> None:
    posts = [post(1, 3, days_ago=6.9), post(2, 3, days_ago=7.1), post(3, 3, days_ago=0.1),
             post(4, 3, days_ago=-1), post(3, 3, days_ago=0.1)]
    assert [p.post_id for p in posts_in_period(posts, days=7, now=NOW)] == ["p3", "p1"]
    assert [p.post_id for p in posts_in_period(posts, days=30, now=NOW)] == ["p3", "p1", "p2"]


@pytest.mark.parametrize("days", [0, 1, 14, 365, -7])
def test_only_7_30_and_90_days_are_periods(days: int) -> None:
    with pytest.raises(ValueError, match="days must be 7, 30 or 90"):
        check_period(days)


def test_a_post_is_read_only_when_x_would_show_likers_not_recorded() -> None:
    read_at_5 = LikersRead("p1", NOW - 3600, 5)
    # Never read: read, unless there is nothing to list or the recorded likers number the likes.
    assert needs_read(post(1, 5), None, recorded=0)
    assert not needs_read(post(1, 0), None, recorded=0)
    assert not needs_read(post(1, 5), None, recorded=5)
    # Read before: again only when the like count grew since and the recorded likers fall short.
    assert not needs_read(post(1, 5), read_at_5, recorded=5)
    assert not needs_read(post(1, 5), read_at_5, recorded=3)
    assert needs_read(post(1, 6), read_at_5, recorded=5)
    assert not needs_read(post(1, 6), read_at_5, recorded=6)
    assert not needs_read(post(1, 4), read_at_5, recorded=4)
    # Over 100 likes (X lists at most 100): a grown count is read again, its newest likers come first.
    assert needs_read(post(1, 151), LikersRead("p1", NOW, 150), recorded=100)
    # Like count unknown: read once.
    assert needs_read(post(1, None), None, recorded=0)
    assert not needs_read(post(1, None), LikersRead("p1", NOW, None), recorded=0)
    assert needs_read(post(1, 2), LikersRead("p1", NOW, None), recorded=0)


def test_the_plan_reads_most_unseen_likes_first_and_defers_past_the_cap() -> None:
    posts = [post(1, 10, days_ago=1), post(2, 50, days_ago=2), post(3, 10, days_ago=0.5),
             post(4, None, days_ago=0.1), post(5, 7, days_ago=3), post(6, 0)]
    reads = {"p5": LikersRead("p5", NOW - 60, 7)}
    recorded = {"p2": 45, "p5": 2}
    plan = plan_reads(posts, reads, recorded, max_reads=3)
    # Unseen: p1 10, p3 10 (newer first), p2 5, p4 unknown; p5 unchanged since read, p6 no likes.
    assert plan == ReadPlan(("p3", "p1", "p2"), ("p4",))
    assert plan_reads(posts, reads, recorded).to_read == ("p3", "p1", "p2", "p4")
    assert plan_reads(posts, reads, recorded, max_reads=0) == ReadPlan((), ("p3", "p1", "p2", "p4"))
    assert MAX_READS_PER_BOARD < 75


def test_three_boards_a_day_read_each_post_once_then_only_the_ones_with_new_likes() -> None:
    posts = [post(n, 4) for n in range(30)]
    first = plan_reads(posts, {}, {})
    assert len(first.to_read) == 30
    reads = {p.post_id: LikersRead(p.post_id, NOW, 4) for p in posts}
    recorded = {p.post_id: 4 for p in posts}
    assert plan_reads(posts, reads, recorded).to_read == ()
    grown = [post(n, 6 if n < 5 else 4) for n in range(30)]
    assert set(plan_reads(grown, reads, recorded).to_read) == {f"p{n}" for n in range(5)}


def test_likers_rank_by_posts_liked_then_handle_with_linked_members_marked() -> None:
    likers = {
        "p1": [liker("p1", "u1", "zed"), liker("p1", "u2", "amy"), liker("p1", "u3", "Bob")],
        "p2": [liker("p2", "u1", "zed"), liker("p2", "u3", "Bob")],
        "p3": [liker("p3", "u2", "amy"), liker("p3", "u4", "carl")],
        "elsewhere": [liker("elsewhere", "u4", "carl")],
    }
    board = rank_supporters(["p1", "p2", "p3", "p1"], likers, {"u3": 555})
    assert board == [
        Supporter("u2", "amy", 2), Supporter("u3", "Bob", 2, member_id=555), Supporter("u1", "zed", 2),
        Supporter("u4", "carl", 1),
    ]
    assert rank_supporters([], likers, {}) == []


def test_a_renamed_liker_shows_the_newest_handle_and_equal_handles_rank_by_id() -> None:
    likers = {"p1": [liker("p1", "u9", "old_name", NOW - 100), liker("p1", "u1", "same")],
              "p2": [liker("p2", "u9", "new_name", NOW), liker("p2", "u0", "same")]}
    board = rank_supporters(["p1", "p2"], likers, {})
    assert board[0] == Supporter("u9", "new_name", 2)
    assert [s.liker_id for s in board[1:]] == ["u0", "u1"]


def test_the_cost_counts_posts_listed_and_likers_returned_at_xs_prices() -> None:
    cost = BoardCost(posts_listed=30, posts_read=30, likers_returned=120)
    assert cost.low_dollars == pytest.approx(30 * 0.005 + 120 * 0.001)
    assert cost.high_dollars == pytest.approx(30 * 0.005 + 120 * 0.010)
    assert BoardCost(0, 0, 0).high_dollars == 0
