"""store.pruning on a real SQLite file: each bound deletes what is past it and keeps what is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from store import digests, pruning
from store.browse_state import BrowseRecord, load_browse, save_browse
from store.db import Store
from tests.engines import committed_rows, open_test_store

DAY = 86400.0
NOW = 1_000 * DAY
LEFT = "LikeLens is no longer in this server."


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def new_digest(store: Store, kind: digests.SubjectKind = "post", subject: str = "9") -> digests.Digest:
    return await digests.add_digest(
        store.conn, guild_id=1, channel_id=2, creator_id=3, subject_kind=kind, subject_id=subject,
        every_seconds=3600, now=NOW - 400 * DAY,
    )


async def posted_run(store: Store, digest_id: int, at: float, items: list[str]) -> digests.PendingRun:
    run = await digests.begin_run(store.conn, digest_id, now=at, kind="digest", item_ids=items,
                                  items_found=len(items), like_count=None, payload="{}")
    await digests.finish_run(store.conn, run, message_id=1, now=at, next_run_at=at + 3600)
    return run


async def prune(store: Store) -> pruning.PruneReport:
    return await pruning.prune(store.conn, now=NOW, guild_left_reason=LEFT)


async def test_runs_keep_the_newest_per_digest_and_none_older_than_the_age_bound(store: Store) -> None:
    busy, quiet = await new_digest(store), await new_digest(store, subject="10")
    count = pruning.RUNS_KEPT_PER_DIGEST + 5
    for n in range(count):
        await digests.log_run(store.conn, busy.id, now=NOW - DAY + n, status="nothing_new")
    # quiet: one run too old, one recent, and a pending one far older (never pruned: it may be unsent).
    for at in (NOW - (pruning.RUN_MAX_AGE_DAYS + 1) * DAY, NOW - DAY):
        await digests.log_run(store.conn, quiet.id, now=at, status="nothing_new")
    pending = await digests.begin_run(store.conn, quiet.id, now=NOW - 200 * DAY, kind="digest", item_ids=[],
                                      items_found=0, like_count=None, payload="{}")
    report = await prune(store)
    busy_log = await digests.run_log(store.conn, busy.id, limit=1000)
    assert len(busy_log) == pruning.RUNS_KEPT_PER_DIGEST
    assert busy_log[0].started_at == NOW - DAY + count - 1
    assert [r.started_at for r in await digests.run_log(store.conn, quiet.id)] == [NOW - 200 * DAY, NOW - DAY]
    assert await digests.pending_run(store.conn, quiet.id) == pending
    assert report.runs == 6


async def test_a_digests_newest_run_is_kept_however_old_so_run_numbers_go_on(store: Store) -> None:
    digest = await new_digest(store)
    await digests.log_run(store.conn, digest.id, now=NOW - 300 * DAY, status="nothing_new")
    await digests.log_run(store.conn, digest.id, now=NOW - 200 * DAY, status="nothing_new")
    await prune(store)
    (kept,) = await digests.run_log(store.conn, digest.id)
    assert kept.started_at == NOW - 200 * DAY
    later = await digests.begin_run(store.conn, digest.id, now=NOW, kind="digest", item_ids=[],
                                    items_found=0, like_count=None, payload="{}")
    assert later.number == 3


async def test_recent_digests_forget_items_of_posts_past_the_window_others_keep_theirs(store: Store) -> None:
    recent, post = await new_digest(store, "recent", "me"), await new_digest(store)
    old_at = NOW - (pruning.RECENT_ITEMS_MAX_AGE_DAYS + 1) * DAY
    young_at = NOW - (pruning.RECENT_ITEMS_MAX_AGE_DAYS - 1) * DAY
    await posted_run(store, recent.id, old_at, ["p1:u1", "p1:u2"])
    await posted_run(store, post.id, old_at, ["u1"])
    await posted_run(store, recent.id, young_at, ["p2:u1"])
    report = await prune(store)
    assert await digests.seen_items(store.conn, recent.id, ["p1:u1", "p1:u2", "p2:u1"]) == {"p2:u1"}
    # A post digest's likers stay seen for good (X may list an old liker again).
    assert await digests.seen_items(store.conn, post.id, ["u1"]) == {"u1"}
    assert report.digest_items == 2
    assert pruning.RECENT_ITEMS_MAX_AGE_DAYS > 7  # the 7-day window of `recent`, plus a margin


async def test_digests_of_a_server_left_long_ago_are_deleted_others_kept(
    store: Store, tmp_path: Path
) -> None:
    left_long_ago, left_lately, paused = [await new_digest(store, subject=s) for s in ("1", "2", "3")]
    await posted_run(store, left_long_ago.id, NOW - (pruning.LEFT_SERVER_DAYS + 1) * DAY, ["u1"])
    await posted_run(store, left_lately.id, NOW - (pruning.LEFT_SERVER_DAYS - 1) * DAY, ["u1"])
    for digest in (left_long_ago, left_lately):
        await digests.set_state(store.conn, digest.id, "disabled", reason=LEFT, next_run_at=None)
    await digests.set_state(store.conn, paused.id, "paused", reason="paused by someone", next_run_at=None)
    report = await prune(store)
    assert [d.id for d in await digests.guild_digests(store.conn, 1)] == [left_lately.id, paused.id]
    assert report.digests == 1
    assert await committed_rows(tmp_path, "SELECT COUNT(*) FROM digest_items WHERE digest_id = ?",
                                (left_long_ago.id,)) == [(0,)]


async def test_browse_states_untouched_past_the_bound_are_deleted(store: Store) -> None:
    for browse_id, age in (("old", pruning.BROWSE_STATE_DAYS + 1), ("young", pruning.BROWSE_STATE_DAYS - 1)):
        record = BrowseRecord(browse_id, "likers", "9", 3, {}, {"page": 0}, 42)
        await save_browse(store.conn, record, now=NOW - age * DAY)
    report = await prune(store)
    assert await load_browse(store.conn, "old") is None
    assert await load_browse(store.conn, "young") is not None
    assert report.browse_states == 1


async def test_a_second_prune_finds_nothing(store: Store) -> None:
    digest = await new_digest(store)
    for n in range(pruning.RUNS_KEPT_PER_DIGEST + 1):
        await digests.log_run(store.conn, digest.id, now=NOW - DAY + n, status="nothing_new")
    assert (await prune(store)).runs == 1
    assert await prune(store) == pruning.PruneReport(0, 0, 0, 0)
