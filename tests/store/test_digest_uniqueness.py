"""One digest per (server, channel, subject): the database refuses a second one, even from two
concurrent `/digest add`s, and the migration folds duplicates stored before into one."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store import digests
from store.db import MIGRATIONS, UNIQUE_DIGESTS_MIGRATION, Store, open_database
from tests.engines import open_test_store


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def add(store: Store, channel_id: int = 2, subject_id: str = "9") -> digests.Digest:
    return await digests.add_digest(
        store.conn, guild_id=1, channel_id=channel_id, creator_id=3, subject_kind="post",
        subject_id=subject_id, every_seconds=3600, now=1000.0,
    )


async def test_two_concurrent_adds_of_one_digest_store_one_and_name_it_to_the_other(store: Store) -> None:
    results = await asyncio.gather(add(store), add(store), return_exceptions=True)
    created = [r for r in results if isinstance(r, digests.Digest)]
    refused = [r for r in results if isinstance(r, digests.DuplicateDigest)]
    assert len(created) == 1 and len(refused) == 1
    assert refused[0].existing_id == created[0].id
    assert [d.id for d in await digests.guild_digests(store.conn, 1)] == [created[0].id]


async def test_the_same_subject_in_another_channel_or_another_subject_is_a_new_digest(store: Store) -> None:
    first = await add(store)
    others = [await add(store, channel_id=5), await add(store, subject_id="10")]
    assert len({first.id, *(d.id for d in others)}) == 3
    with pytest.raises(digests.DuplicateDigest):
        await add(store)


async def test_the_migration_keeps_one_digest_of_each_duplicate_set_with_its_history(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    before = MIGRATIONS[:MIGRATIONS.index(UNIQUE_DIGESTS_MIGRATION)]
    conn = await open_database(path, before)
    await conn.close()
    with sqlite3.connect(path) as old:
        insert = (
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            "state, created_at) VALUES (1, 2, 3, 'post', '9', 3600, ?, 1000)"
        )
        old.execute(insert, ("disabled",))  # id 1: a duplicate set whose oldest is disabled
        old.execute(insert, ("active",))  # id 2: the one kept (active)
        old.execute(insert, ("paused",))  # id 3
        old.execute(
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            "created_at) VALUES (1, 2, 3, 'recent', 'me', 3600, 1000)"
        )  # id 4: alone
        old.execute(
            "INSERT INTO digest_runs (digest_id, started_at, kind, status) "
            "VALUES (2, 1000, 'baseline', 'posted')"
        )
    conn = await open_database(path)
    try:
        async with conn.execute("SELECT id FROM digests ORDER BY id") as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [(2,), (4,)]
        assert len(await digests.run_log(conn, 2)) == 1
    finally:
        await conn.close()
