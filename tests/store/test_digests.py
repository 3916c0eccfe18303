"""store.digests against a real SQLite file: runs, seen items, the due query, survival across reopening."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store import digests
from store.db import MIGRATIONS, Store, open_database
from tests.engines import open_test_store
from tests.sqlite_only import sqlite_raw


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def new_digest(store: Store, now: float = 1000.0, subject: str = "123") -> digests.Digest:
    return await digests.add_digest(
        store.conn, guild_id=1, channel_id=2, creator_id=3, subject_kind="post", subject_id=subject,
        every_seconds=3600, now=now,
    )


async def test_a_new_digest_is_due_at_once_and_awaits_its_baseline(store: Store) -> None:
    digest = await new_digest(store)
    assert digest.state == "active" and not digest.baseline_done and digest.next_run_at == 1000.0
    assert [d.id for d in await digests.due_digests(store.conn, 1000.0, 10)] == [digest.id]
    assert await digests.due_digests(store.conn, 999.0, 10) == []


async def test_items_of_a_pending_run_travel_with_it_and_are_seen_once_it_is_finished(store: Store) -> None:
    digest = await new_digest(store)
    started = await digests.begin_run(
        store.conn, digest.id, now=1000.0, kind="baseline", item_ids=["a", "b"], items_found=2,
        like_count=7, payload='{"content": "x"}',
    )
    pending = await digests.pending_run(store.conn, digest.id)
    assert pending == started and pending.started_at == 1000.0 and pending.item_ids == ("a", "b")
    assert pending.payload == '{"content": "x"}'
    assert await digests.seen_items(store.conn, digest.id, ["a", "c"]) == set()
    await digests.finish_run(store.conn, pending, message_id=99, now=1000.0, next_run_at=4600.0)
    assert await digests.pending_run(store.conn, digest.id) is None
    after = await digests.get_digest(store.conn, digest.id)
    assert after is not None and after.baseline_done and after.next_run_at == 4600.0
    (run,) = await digests.run_log(store.conn, digest.id)
    assert (run.status, run.items_posted, run.like_count, run.message_id) == ("posted", 2, 7, 99)
    async with store.conn.execute("SELECT COUNT(*) FROM digest_items WHERE delivered = 1") as cursor:
        assert await cursor.fetchone() == (2,)


async def test_a_pending_run_survives_reopening_the_database(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    first = await Store.open(path)
    digest = await new_digest(first)
    started = await digests.begin_run(
        first.conn, digest.id, now=1.0, kind="digest", item_ids=["u1"], items_found=1, like_count=None,
        payload='{"embed": {"title": "t"}}',
    )
    await first.close()
    second = await Store.open(path)
    try:
        pending = await digests.pending_run(second.conn, digest.id)
        assert pending is not None and pending == started and pending.payload == '{"embed": {"title": "t"}}'
    finally:
        await second.close()


async def test_seen_items_answers_for_more_ids_than_one_query_may_bind(store: Store) -> None:
    digest = await new_digest(store)
    ids = [str(n) for n in range(1200)]
    run = await digests.begin_run(store.conn, digest.id, now=1.0, kind="baseline", item_ids=ids[::2],
                                  items_found=600, like_count=None, payload="{}")
    await digests.finish_run(store.conn, run, message_id=1, now=2.0, next_run_at=3.0)
    assert await digests.seen_items(store.conn, digest.id, ids) == set(ids[::2])


async def test_paused_digests_are_not_due_and_removing_deletes_items_and_runs(store: Store) -> None:
    digest = await new_digest(store)
    await digests.begin_run(store.conn, digest.id, now=1.0, kind="baseline", item_ids=["a"], items_found=1,
                            like_count=None, payload="{}")
    await digests.set_state(store.conn, digest.id, "paused", reason="why", next_run_at=None)
    assert await digests.due_digests(store.conn, 10**12, 10) == []
    await digests.delete_digest(store.conn, digest.id)
    for table in ("digests", "digest_runs", "digest_items"):
        async with store.conn.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
            assert await cursor.fetchone() == (0,), table


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN
async def test_the_due_query_reads_through_the_next_run_index(store: Store) -> None:
    for n in range(50):
        await new_digest(store, now=float(n), subject=str(n + 1))
    plan = await digests.query_plan(store.conn, digests.DUE_QUERY, (10.0, 100))
    assert any("USING INDEX digests_next_run_at (next_run_at<?)" in line for line in plan), plan
    due = await digests.due_digests(store.conn, 9.0, 100)
    assert [d.next_run_at for d in due] == [float(n) for n in range(10)]
    assert len(await digests.due_digests(store.conn, 9.0, 3)) == 3


async def test_the_run_log_forgets_runs_older_than_its_retention(store: Store) -> None:
    digest = await new_digest(store)
    await digests.log_run(store.conn, digest.id, now=0.0, status="nothing_new")
    await digests.log_run(store.conn, digest.id, now=1.0, status="nothing_new")
    later = digests.RUN_LOG_RETENTION_SECONDS + 0.5
    await digests.log_run(store.conn, digest.id, now=later, status="nothing_new")
    assert [r.started_at for r in await digests.run_log(store.conn, digest.id)] == [later, 1.0]


async def test_a_digest_paused_during_its_run_is_not_scheduled_by_the_end_of_the_run(store: Store) -> None:
    digest = await new_digest(store)
    pending = await digests.begin_run(store.conn, digest.id, now=1.0, kind="baseline", item_ids=["a"],
                                      items_found=1, like_count=None, payload="{}")
    await digests.set_state(store.conn, digest.id, "paused", reason="by a moderator", next_run_at=None)
    await digests.finish_run(store.conn, pending, message_id=5, now=2.0, next_run_at=3602.0)
    await digests.set_schedule(store.conn, digest.id, next_run_at=7200.0)
    after = await digests.get_digest(store.conn, digest.id)
    assert after is not None and after.state == "paused" and after.next_run_at is None
    assert await digests.seen_items(store.conn, digest.id, ["a"]) == {"a"}


@pytest.mark.sqlite_only  # one shared SQLite connection
async def test_a_commit_from_another_coroutine_during_begin_run_cannot_split_the_run(tmp_path: Path) -> None:
    # The store's connection is shared: another coroutine may commit while begin_run is half done.
    path = tmp_path / "likelens.db"
    first = await Store.open(path)
    digest = await new_digest(first)
    changes = sqlite_raw(first.conn).total_changes
    begin = asyncio.create_task(digests.begin_run(
        first.conn, digest.id, now=1.0, kind="digest", item_ids=["a", "b"], items_found=2, like_count=None,
        payload='{"embed": {"title": "t"}}',
    ))
    # The other coroutine commits right after begin_run's first write, whatever begin_run does next.
    for _ in range(10_000):
        if sqlite_raw(first.conn).total_changes != changes:
            break
        await asyncio.sleep(0)
    assert sqlite_raw(first.conn).total_changes != changes, "begin_run never wrote"
    await first.conn.commit()
    # The bot dies here: whatever was not committed is lost.
    begin.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await begin
    await first.close()
    second = await Store.open(path)
    try:
        pending = await digests.pending_run(second.conn, digest.id)
        # The first write was committed: the run survived, and with all of its items.
        assert pending is not None and pending.item_ids == ("a", "b")
        # Delivering it marks them all seen (else they are posted again).
        await digests.finish_run(second.conn, pending, message_id=1, now=2.0, next_run_at=3.0)
        assert await digests.seen_items(second.conn, digest.id, ["a", "b"]) == {"a", "b"}
    finally:
        await second.close()


@pytest.mark.sqlite_only  # PostgreSQL deployments start at the current layout
async def test_a_run_left_pending_by_the_previous_version_is_delivered_with_its_items(store: Store) -> None:
    digest = await new_digest(store)
    # The old layout: the bare message in payload, the items in digest_items, undelivered.
    cursor = await store.conn.execute(
        "INSERT INTO digest_runs (digest_id, started_at, kind, status, items_found, items_posted, payload) "
        "VALUES (?, 1.0, 'digest', 'pending', 1, 1, ?)", (digest.id, '{"content": "old"}'),
    )
    await store.conn.execute(
        "INSERT INTO digest_items (digest_id, item_id, run_id, delivered) VALUES (?, 'a', ?, 0)",
        (digest.id, cursor.lastrowid),
    )
    await store.conn.commit()
    pending = await digests.pending_run(store.conn, digest.id)
    assert pending is not None and pending.payload == '{"content": "old"}' and pending.item_ids == ()
    await digests.finish_run(store.conn, pending, message_id=1, now=2.0, next_run_at=3.0)
    async with store.conn.execute("SELECT delivered FROM digest_items WHERE item_id = 'a'") as rows:
        assert await rows.fetchone() == (1,)


async def test_a_run_pending_at_the_upgrade_keeps_the_number_its_message_shows(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    conn = await open_database(path, MIGRATIONS[:3])
    try:
        for digest_id in (1, 2):
            await conn.execute(
                "INSERT INTO digests (id, guild_id, channel_id, creator_id, subject_kind, subject_id, "
                "every_seconds, created_at) VALUES (?, 1, ?, 3, 'post', '1', 3600, 0)", (digest_id,) * 2)
        # Global ids: digest 1 ran 1 and 3 (3 pending: maybe sent as "run 3"), digest 2 ran 2 and 4.
        runs = ((1, 1, "posted"), (2, 2, "posted"), (3, 1, "pending"), (4, 2, "posted"))
        for run_id, digest_id, status in runs:
            await conn.execute(
                "INSERT INTO digest_runs (id, digest_id, started_at, kind, status, payload) "
                "VALUES (?, ?, 0, 'digest', ?, '{}')", (run_id, digest_id, status))
        await conn.commit()
    finally:
        await conn.close()
    store = await Store.open(path)
    try:
        pending = await digests.pending_run(store.conn, 1)
        assert pending is not None and pending.number == 3
        assert [r.id for r in await digests.run_log(store.conn, 2)] == [4, 2]
        async with store.conn.execute("SELECT id, number FROM digest_runs ORDER BY id") as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [(1, 1), (2, 1), (3, 3), (4, 2)]
        later = await digests.begin_run(store.conn, 2, now=1.0, kind="digest", item_ids=[], items_found=0,
                                        like_count=None, payload="{}")
        assert later.number == 3
    finally:
        await store.close()


async def test_post_checks_are_kept_per_digest_and_old_ones_forgotten(store: Store) -> None:
    first, second = await new_digest(store), await new_digest(store, subject="456")
    await digests.mark_posts_checked(store.conn, first.id, ["p1", "p2"], now=10.0, forget_before=0.0)
    await digests.mark_posts_checked(store.conn, second.id, ["p1"], now=11.0, forget_before=0.0)
    await digests.mark_posts_checked(store.conn, first.id, ["p2", "p3"], now=20.0, forget_before=15.0)
    assert await digests.post_checks(store.conn, first.id) == {"p2": 20.0, "p3": 20.0}
    assert await digests.post_checks(store.conn, second.id) == {"p1": 11.0}
    await digests.delete_digest(store.conn, first.id)
    assert await digests.post_checks(store.conn, first.id) == {}
