"""Claims of due digests by several processes on one database (three stores: three connections to
one SQLite file or one PostgreSQL schema): disjoint, whole subjects, taken over after the lease,
cleared by the end of a run, filtered by shard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store import digest_claims as claims
from store import digests
from store.db import Store
from tests.engines import committed_rows, open_test_store

NOW = 10_000.0
LEASE = 120.0
# Guild ids whose shard (of 2) is 0 or 1: (guild_id >> 22) % 2.
SHARD_0_GUILD = (10 << 22) + 5
SHARD_1_GUILD = (11 << 22) + 5


@pytest_asyncio.fixture
async def stores(tmp_path: Path) -> AsyncIterator[list[Store]]:
    opened = [await open_test_store(tmp_path) for _ in range(3)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


async def add(
    store: Store, subject: str, channel: int, *, guild: int = 1, due: float = NOW - 10,
    account: str | None = "a1",
) -> digests.Digest:
    digest = await digests.add_digest(
        store.conn, guild_id=guild, channel_id=channel, creator_id=3, subject_kind="post", subject_id=subject,
        every_seconds=3600, now=due, account_id=account,
    )
    return digest


async def claim(
    store: Store, holder: str, *, now: float = NOW, limit: int = 10, shards: claims.Shards | None = None
) -> list[digests.Digest]:
    return await claims.claim_due(
        store.conn, holder, now=now, lease_seconds=LEASE, limit=limit, shards=shards)


async def claimed_by(tmp_path: Path) -> dict[int, str | None]:
    rows = await committed_rows(tmp_path, "SELECT id, claimed_by FROM digests ORDER BY id")
    return {int(str(row[0])): None if row[1] is None else str(row[1]) for row in rows}


async def test_three_processes_claiming_at_once_get_disjoint_whole_subjects(
    stores: list[Store], tmp_path: Path
) -> None:
    # Six subjects of three digests each (three channels), all due.
    subject_of: dict[int, str] = {}
    for subject in range(6):
        for channel in range(3):
            digest = await add(stores[0], f"s{subject}", channel)
            subject_of[digest.id] = digest.subject_id
    got = await asyncio.gather(*(
        claim(store, f"p{n}", now=NOW, limit=6)
        for n, store in enumerate(stores)
    ))
    ids = [[d.id for d in batch] for batch in got]
    assert sorted(i for batch in ids for i in batch) == sorted(subject_of)
    assert [len(batch) for batch in ids] == [6, 6, 6]
    # Each subject's three digests went to one process.
    for batch in ids:
        subjects = [subject_of[i] for i in batch]
        assert all(subjects.count(s) == 3 for s in subjects), subjects
    holders = await claimed_by(tmp_path)
    for n, batch in enumerate(ids):
        assert {holders[i] for i in batch} == {f"p{n}"}
    # Claimed: nobody claims them again while the claims hold.
    assert await claim(stores[0], "p9", now=NOW + 1, limit=100) == []


async def test_a_subject_with_different_accounts_is_two_subjects(stores: list[Store]) -> None:
    # The same post read for two servers by two X accounts: their requests are never shared.
    await add(stores[0], "s", 1, account="a1")
    await add(stores[0], "s", 2, account="a2")
    await add(stores[0], "s", 3, account=None)
    first = await claim(stores[0], "p0", now=NOW, limit=1)
    second = await claim(stores[1], "p1", now=NOW, limit=1)
    third = await claim(stores[2], "p2", now=NOW, limit=1)
    assert sorted(d.account_id or "" for d in first + second + third) == ["", "a1", "a2"]
    assert len(first) == len(second) == len(third) == 1


async def test_an_expired_claim_is_taken_over_and_an_unexpired_one_is_not(
    stores: list[Store], tmp_path: Path
) -> None:
    due = [await add(stores[0], "s", channel) for channel in range(2)]
    # p0 claims, then dies (kill -9): it never finishes nor releases.
    assert len(await claim(stores[0], "p0", now=NOW, limit=10)) == 2
    assert await claim(stores[1], "p1", now=NOW + LEASE - 1, limit=10) == []
    taken = await claim(stores[1], "p1", now=NOW + LEASE, limit=10)
    assert [d.id for d in taken] == [d.id for d in due]
    assert set((await claimed_by(tmp_path)).values()) == {"p1"}


async def test_the_end_of_a_run_clears_its_claim_in_the_statement_that_moves_the_next_run(
    stores: list[Store], tmp_path: Path
) -> None:
    first, second, third = [await add(stores[0], f"s{n}", n) for n in range(3)]
    assert len(await claim(stores[0], "p0", now=NOW, limit=10)) == 3
    conn = stores[0].conn
    # Posted (finish_run), rescheduled or failed (set_schedule), paused by its run (set_state).
    run = await digests.begin_run(conn, first.id, now=NOW, kind="baseline", item_ids=["i"], items_found=1,
                                  like_count=None, payload="{}")
    await digests.finish_run(conn, run, message_id=5, now=NOW, next_run_at=NOW + 3600)
    await digests.set_schedule(conn, second.id, next_run_at=NOW + 60, failures=1, reason="X failed")
    await digests.set_state(conn, third.id, "paused", reason="why", next_run_at=None, ends_run=True)
    assert set((await claimed_by(tmp_path)).values()) == {None}
    rows = await committed_rows(tmp_path, "SELECT claim_expires_at FROM digests")
    assert {row[0] for row in rows} == {None}


async def test_a_moderators_resume_leaves_a_running_claim_alone(stores: list[Store], tmp_path: Path) -> None:
    digest = await add(stores[0], "s", 1)
    await claim(stores[0], "p0", now=NOW, limit=10)
    # /digest pause and /digest resume while p0's run is still going: nobody else may start it.
    await digests.set_state(stores[1].conn, digest.id, "paused", reason="moderator", next_run_at=None)
    await digests.set_state(stores[1].conn, digest.id, "active", reason=None, next_run_at=NOW)
    assert await claim(stores[1], "p1", now=NOW + 1, limit=10) == []
    assert (await claimed_by(tmp_path))[digest.id] == "p0"


async def test_a_clean_stop_releases_its_claims_for_the_others_at_once(stores: list[Store]) -> None:
    due = [await add(stores[0], f"s{n}", n) for n in range(3)]
    await claim(stores[0], "p0", now=NOW, limit=10)
    # Another process's release touches nothing of p0's.
    assert await claims.release_claims(stores[1].conn, "p1") == 0
    assert await claims.release_claims(stores[0].conn, "p0", [due[0].id]) == 1
    assert [d.id for d in await claim(stores[1], "p1", now=NOW, limit=10)] == [due[0].id]
    assert await claims.release_claims(stores[0].conn, "p0") == 2
    taken = await claim(stores[2], "p2", now=NOW, limit=10)
    assert [d.id for d in taken] == [d.id for d in due[1:]]


async def test_renewed_claims_outlive_the_lease_and_a_lost_one_is_reported(stores: list[Store]) -> None:
    due = [await add(stores[0], f"s{n}", n) for n in range(2)]
    await claim(stores[0], "p0", now=NOW, limit=10)
    assert await claims.renew_claims(stores[0].conn, "p0", [d.id for d in due], now=NOW + 60,
                                     lease_seconds=LEASE) == {d.id for d in due}
    # Past the first lease, within the renewed one: still p0's.
    assert await claim(stores[1], "p1", now=NOW + LEASE + 1, limit=10) == []
    # p0 stalls past the renewed lease: p1 takes over, and p0's next renewal says so.
    taken = await claim(stores[1], "p1", now=NOW + 60 + LEASE, limit=10)
    assert len(taken) == 2
    assert await claims.renew_claims(stores[0].conn, "p0", [d.id for d in due], now=NOW + 200) == set()


async def test_claim_one_refuses_a_digest_another_process_holds(stores: list[Store]) -> None:
    digest = await add(stores[0], "s", 1, due=NOW + 3600)
    # /digest run: a digest not due is claimed all the same.
    assert await claims.claim_one(stores[0].conn, digest.id, "p0", now=NOW, lease_seconds=LEASE)
    assert await claims.claim_one(stores[0].conn, digest.id, "p0", now=NOW + 1, lease_seconds=LEASE)
    assert not await claims.claim_one(stores[1].conn, digest.id, "p1", now=NOW + 1, lease_seconds=LEASE)
    assert not await claims.claim_one(stores[1].conn, 999, "p1", now=NOW + 1)


async def test_a_process_claims_its_shards_servers_and_others_only_once_overdue_past_the_lease(
    stores: list[Store]
) -> None:
    mine = await add(stores[0], "s0", 1, guild=SHARD_0_GUILD)
    theirs = await add(stores[0], "s1", 2, guild=SHARD_1_GUILD)
    shard_0 = claims.Shards(2, (0,))
    assert shard_0.owns(SHARD_0_GUILD) and not shard_0.owns(SHARD_1_GUILD)
    got = await claim(stores[0], "p0", now=NOW, limit=10, shards=shard_0)
    assert [d.id for d in got] == [mine.id]
    # Shard 1's process is down: once its digest is overdue by more than the lease, shard 0 takes it.
    late = (theirs.next_run_at or 0.0) + LEASE
    assert await claim(stores[0], "p0", now=late - 1, limit=10, shards=shard_0) == []
    taken = await claim(stores[0], "p0", now=late, limit=10, shards=shard_0)
    assert [d.id for d in taken] == [theirs.id]


async def test_a_subject_on_two_shards_is_claimed_whole_by_one_process(stores: list[Store]) -> None:
    # One account's post followed in a server of each shard: one process reads X for both.
    on_0 = await add(stores[0], "s", 1, guild=SHARD_0_GUILD)
    on_1 = await add(stores[0], "s", 2, guild=SHARD_1_GUILD)
    got = await asyncio.gather(
        claim(stores[0], "p0", now=NOW, limit=10, shards=claims.Shards(2, (0,))),
        claim(stores[1], "p1", now=NOW, limit=10, shards=claims.Shards(2, (1,))),
    )
    assert sorted(len(batch) for batch in got) == [0, 2]
    assert sorted(d.id for batch in got for d in batch) == [on_0.id, on_1.id]


def test_own_shards_is_none_for_a_process_running_every_shard() -> None:
    assert claims.own_shards(None, None) is None
    assert claims.own_shards(3, None) is None
    assert claims.own_shards(2, (1, 0)) is None
    assert claims.own_shards(3, (2, 0)) == claims.Shards(3, (0, 2))


async def test_a_large_subject_comes_whole_and_the_limit_counts_digests(stores: list[Store]) -> None:
    for channel in range(5):
        await add(stores[0], "big", channel, due=NOW - 100)
    for channel in range(2):
        await add(stores[0], "small", channel, due=NOW - 50)
    # The most overdue subject is larger than the limit: it comes whole, and alone.
    first = await claim(stores[0], "p0", now=NOW, limit=3)
    assert {d.subject_id for d in first} == {"big"} and len(first) == 5
    second = await claim(stores[0], "p0", now=NOW, limit=3)
    assert {d.subject_id for d in second} == {"small"} and len(second) == 2


@pytest.mark.sqlite_only  # SQLite's EXPLAIN QUERY PLAN
async def test_the_claim_reads_through_the_next_run_index(stores: list[Store]) -> None:
    for n in range(50):
        await add(stores[0], f"s{n}", n, due=NOW + n)
    for shards in (None, claims.Shards(2, (0,))):
        sql, args = claims.leaders_query(now=NOW, lease_seconds=LEASE, limit=200, shards=shards)
        plan = await digests.query_plan(stores[0].conn, sql, args)
        assert any("USING INDEX digests_next_run_at (next_run_at<?)" in line for line in plan), plan
