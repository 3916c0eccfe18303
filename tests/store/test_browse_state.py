"""store.browse_state against a real SQLite file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from store.browse_state import (
    ID_LENGTH,
    BrowseRecord,
    delete_browse_older_than,
    load_browse,
    new_browse_id,
    save_browse,
    save_position,
    save_positions,
)
from store.db import Store
from tests.engines import open_test_store


async def test_a_saved_paginator_reads_back_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    record = BrowseRecord(new_browse_id(), "liking_users", "186", 42, {"text": "gm 🌞", "like_count": 7},
                          {"v": 1, "tokens": [None], "sizes": [7], "exhausted": True, "current": 0},
                          guild_id=1234567890123456789)
    store = await Store.open(path)
    await save_browse(store.conn, record, now=100.0)
    await save_position(store.conn, record.id, {**record.state, "current": 3}, now=101.0)
    await store.close()

    store = await Store.open(path)
    try:
        loaded = await load_browse(store.conn, record.id)
        assert loaded == BrowseRecord(record.id, "liking_users", "186", 42, record.context,
                                      {**record.state, "current": 3}, 1234567890123456789)
        assert await load_browse(store.conn, "unknown") is None
    finally:
        await store.close()


async def test_several_positions_are_saved_in_one_call(tmp_path: Path) -> None:
    store = await open_test_store(tmp_path)
    try:
        for browse_id in ("a", "b"):
            record = BrowseRecord(browse_id, "liked_posts", "1", 1, {}, {"current": 0}, 7)
            await save_browse(store.conn, record, now=1.0)
        await save_positions(store.conn, {"a": ({"current": 4}, 2.0), "b": ({"current": 9}, 3.0)})
        a, b = await load_browse(store.conn, "a"), await load_browse(store.conn, "b")
        assert a is not None and a.state == {"current": 4}
        assert b is not None and b.state == {"current": 9}
    finally:
        await store.close()


async def test_old_paginators_are_forgotten_and_unreadable_ones_are_gone(tmp_path: Path) -> None:
    store = await open_test_store(tmp_path)
    try:
        old = BrowseRecord("old", "liked_posts", "1", 1, {}, {}, 7)
        new = BrowseRecord("new", "liked_posts", "1", 1, {}, {}, 7)
        await save_browse(store.conn, old, now=10.0)
        await save_browse(store.conn, new, now=1000.0)
        assert await delete_browse_older_than(store.conn, 500.0) == 1
        assert await load_browse(store.conn, "old") is None
        await store.conn.execute("UPDATE browse_states SET state = 'not json' WHERE id = 'new'")
        assert await load_browse(store.conn, "new") is None
    finally:
        await store.close()


async def test_a_paginator_saved_before_servers_were_recorded_reads_back_without_one(tmp_path: Path) -> None:
    store = await open_test_store(tmp_path)
    try:
        await store.conn.execute(
            "INSERT INTO browse_states (id, kind, subject_id, owner_id, context, state, updated_at) "
            "VALUES ('legacy', 'liked_posts', '1', 1, '{}', '{}', 1.0)")
        loaded = await load_browse(store.conn, "legacy")
        assert loaded is not None and loaded.guild_id is None
    finally:
        await store.close()


def test_ids_are_ten_random_base36_characters() -> None:
    """A button's custom_id carries the id: short, and unguessable by anyone who has not seen it."""
    ids = [new_browse_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert ID_LENGTH == 10 and all(len(i) == ID_LENGTH for i in ids)
    alphabet = set("0123456789abcdefghijklmnopqrstuvwxyz")
    used = Counter(c for i in ids for c in i)
    # Every one of the 36 symbols turns up in 10,000 random characters, each near 1/36 of the time
    # (about 278 times, sd 16: outside 150-420 is a 1e-14 event), so an id holds about 51.7 bits.
    assert set(used) == alphabet
    assert all(150 < n < 420 for n in used.values()), used
    # No position is fixed or narrowed (a counter or a timestamp prefix would be): all 36 appear in each.
    assert all(len({i[k] for i in ids}) == 36 for k in range(ID_LENGTH))
