"""store.like_history on a real SQLite file: dedupe, per-account isolation, batched writes, prune bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store.like_history import (
    DAY_SECONDS,
    HISTORY_MAX_AGE_DAYS,
    LIKERS_KEPT_PER_POST,
    SAMPLE_MIN_GAP_SECONDS,
    SAMPLES_KEPT_PER_POST,
    HistoryPruned,
    LikeCountSample,
    LikeHistory,
    LikersRead,
    RecordedLiker,
)
from tests.engines import committed_rows, open_test_store_conn

NOW = 1_800_000_000.0
ACCOUNT, OTHER_ACCOUNT = "1000", "2000"


@pytest_asyncio.fixture
async def history(tmp_path: Path) -> AsyncIterator[LikeHistory]:
    connection = await open_test_store_conn(tmp_path)
    try:
        yield LikeHistory(connection)
    finally:
        await connection.close()


async def test_likers_are_recorded_once_keeping_when_and_where_first_seen(history: LikeHistory) -> None:
    assert await history.record_likers(ACCOUNT, "p1", [("u1", "one"), ("u2", "two"), ("u1", "one")],
                                       source="digest", now=NOW) == 2
    # Seen again by a lookup later, one with a new handle: nothing new, the handle refreshed.
    assert await history.record_likers(ACCOUNT, "p1", [("u1", "one_renamed"), ("u2", "two")],
                                       source="lookup", now=NOW + 60) == 0
    assert (await history.likers_of(ACCOUNT, ["p1"]))["p1"] == [
        RecordedLiker("p1", "u1", "one_renamed", NOW, "digest"),
        RecordedLiker("p1", "u2", "two", NOW, "digest"),
    ]


async def test_an_unknown_source_is_refused(history: LikeHistory) -> None:
    with pytest.raises(ValueError, match="unknown like source"):
        await history.record_likers(ACCOUNT, "p1", [("u1", "one")], source="guess", now=NOW)  # type: ignore[arg-type]


async def test_one_accounts_history_is_not_answered_for_another(history: LikeHistory) -> None:
    await history.record_read(ACCOUNT, "p1", [("u1", "one")], like_count=1, now=NOW)
    await history.record_like_counts(ACCOUNT, {"p1": 1}, now=NOW)
    assert await history.likers_of(OTHER_ACCOUNT, ["p1"]) == {}
    assert await history.reads_of(OTHER_ACCOUNT, ["p1"]) == {}
    assert await history.like_counts(OTHER_ACCOUNT, "p1") == []
    assert await history.newest_likers(OTHER_ACCOUNT, "p1") == []


async def test_a_read_records_its_likers_and_when_with_the_like_count(history: LikeHistory) -> None:
    assert await history.record_read(ACCOUNT, "p1", [("u1", "one")], like_count=3, now=NOW) == 1
    assert await history.record_read(ACCOUNT, "p1", [("u1", "one"), ("u3", "three")], like_count=4,
                                     now=NOW + 10) == 1
    assert await history.reads_of(ACCOUNT, ["p1", "p2"]) == {"p1": LikersRead("p1", NOW + 10, 4)}
    likers = (await history.likers_of(ACCOUNT, ["p1"]))["p1"]
    assert [(r.liker_id, r.source, r.first_seen) for r in likers] == [
        ("u1", "lookup", NOW), ("u3", "lookup", NOW + 10)]


async def test_newest_likers_come_newest_first(history: LikeHistory) -> None:
    for n in range(8):
        await history.record_likers(ACCOUNT, "p1", [(f"u{n}", f"h{n}")], source="live", now=NOW + n)
    assert [r.liker_id for r in await history.newest_likers(ACCOUNT, "p1", limit=3)] == ["u7", "u6", "u5"]


async def test_like_count_samples_skip_repeats_within_the_gap(history: LikeHistory) -> None:
    assert await history.record_like_counts(ACCOUNT, {"p1": 5, "p2": 0}, now=NOW) == 2
    # Same count a minute later adds nothing; a changed count does; the same count an hour later does.
    assert await history.record_like_counts(ACCOUNT, {"p1": 5, "p2": 1}, now=NOW + 60) == 1
    assert await history.record_like_counts(ACCOUNT, {"p1": 5}, now=NOW + SAMPLE_MIN_GAP_SECONDS) == 1
    assert await history.like_counts(ACCOUNT, "p1") == [
        LikeCountSample("p1", NOW, 5), LikeCountSample("p1", NOW + SAMPLE_MIN_GAP_SECONDS, 5)]
    assert [s.like_count for s in await history.like_counts(ACCOUNT, "p2")] == [0, 1]
    assert await history.record_like_counts(ACCOUNT, {}, now=NOW) == 0


async def test_batches_larger_than_one_query_binds_are_written_and_read(history: LikeHistory) -> None:
    counts = {f"p{n}": n for n in range(1500)}
    assert await history.record_like_counts(ACCOUNT, counts, now=NOW) == 1500
    assert await history.record_like_counts(ACCOUNT, counts, now=NOW + 1) == 0
    for n in range(0, 1500, 300):
        await history.record_read(ACCOUNT, f"p{n}", [(f"u{n}", "h")], like_count=n, now=NOW)
    assert len(await history.reads_of(ACCOUNT, counts)) == 5
    assert len(await history.likers_of(ACCOUNT, counts)) == 5


async def test_prune_removes_what_is_older_than_the_bound_and_keeps_the_rest(history: LikeHistory) -> None:
    edge = NOW - HISTORY_MAX_AGE_DAYS * DAY_SECONDS
    await history.record_read(ACCOUNT, "old", [("u1", "one")], like_count=1, now=edge - 1)
    await history.record_like_counts(ACCOUNT, {"old": 1}, now=edge - 1)
    await history.record_read(ACCOUNT, "kept", [("u1", "one")], like_count=1, now=edge)
    await history.record_like_counts(ACCOUNT, {"kept": 1}, now=edge)
    assert await history.prune(now=NOW) == HistoryPruned(likers=1, samples=1, reads=1)
    assert list(await history.likers_of(ACCOUNT, ["old", "kept"])) == ["kept"]
    assert list(await history.reads_of(ACCOUNT, ["old", "kept"])) == ["kept"]
    assert await history.like_counts(ACCOUNT, "old") == []
    assert await history.prune(now=NOW) == HistoryPruned(0, 0, 0)


async def test_prune_keeps_the_newest_likers_and_samples_of_each_post(history: LikeHistory) -> None:
    extra = 7
    for n in range(LIKERS_KEPT_PER_POST + extra):
        await history.record_likers(ACCOUNT, "busy", [(f"u{n:05}", "h")], source="live", now=NOW + n)
    for n in range(SAMPLES_KEPT_PER_POST + extra):
        await history.record_like_counts(ACCOUNT, {"busy": n}, now=NOW + n)
    await history.record_likers(OTHER_ACCOUNT, "busy", [("u0", "h")], source="live", now=NOW)
    assert await history.prune(now=NOW + 10_000) == HistoryPruned(likers=extra, samples=extra, reads=0)
    likers = (await history.likers_of(ACCOUNT, ["busy"]))["busy"]
    assert len(likers) == LIKERS_KEPT_PER_POST and likers[0].liker_id == f"u{extra:05}"
    samples = await history.like_counts(ACCOUNT, "busy")
    assert len(samples) == SAMPLES_KEPT_PER_POST and samples[0].like_count == extra
    # Another account's rows of the same post id are counted apart.
    assert len((await history.likers_of(OTHER_ACCOUNT, ["busy"]))["busy"]) == 1


async def test_writes_are_committed(history: LikeHistory, tmp_path: Path) -> None:
    await history.record_read(ACCOUNT, "p1", [("u1", "one")], like_count=1, now=NOW)
    await history.record_like_counts(ACCOUNT, {"p1": 1}, now=NOW)
    for table in ("post_likers", "like_count_samples", "post_liker_reads"):
        assert await committed_rows(tmp_path, f"SELECT COUNT(*) FROM {table}") == [(1,)], table
