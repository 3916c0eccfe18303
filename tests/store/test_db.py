"""store.db, store.meta, store.oauth_tokens against real SQLite files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.db import MIGRATIONS, Store, open_database, schema_version
from store.meta import get_meta, set_meta
from store.oauth_tokens import current_refresh_token, save_refresh_token


async def test_open_creates_the_folder_and_migrates_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "likelens.db"
    store = await Store.open(path)
    try:
        assert path.exists()
        assert await schema_version(store.conn) == len(MIGRATIONS)
        async with store.conn.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone()) == ("wal",)
    finally:
        await store.close()


async def test_reopening_applies_only_the_new_migration(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    conn = await open_database(path)
    await set_meta(conn, "k", "kept")
    await conn.close()

    appended = [*MIGRATIONS, "CREATE TABLE digests_example (id INTEGER PRIMARY KEY);"]
    conn = await open_database(path, appended)
    try:
        assert await schema_version(conn) == len(appended)
        assert await get_meta(conn, "k") == "kept"
        await conn.execute("INSERT INTO digests_example (id) VALUES (1)")
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    broken = [*MIGRATIONS, "CREATE TABLE half_done (id INTEGER); THIS IS NOT SQL;"]
    with pytest.raises(sqlite3.OperationalError):
        await open_database(path, broken)
    conn = await open_database(path)
    try:
        assert await schema_version(conn) == len(MIGRATIONS)
        async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'") as cursor:
            assert await cursor.fetchone() is None
    finally:
        await conn.close()


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    await (await open_database(path, [*MIGRATIONS, "SELECT 1;"])).close()
    with pytest.raises(RuntimeError, match="schema version"):
        await open_database(path)


async def test_meta_values_are_replaced_and_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    store = await Store.open(path)
    assert await get_meta(store.conn, "command_tree_hash") is None
    await set_meta(store.conn, "command_tree_hash", "a")
    await set_meta(store.conn, "command_tree_hash", "b")
    await store.close()
    store = await Store.open(path)
    try:
        assert await get_meta(store.conn, "command_tree_hash") == "b"
    finally:
        await store.close()


async def test_the_rotated_refresh_token_wins_over_the_configured_one_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    store = await Store.open(path)
    assert await current_refresh_token(store.conn, "x", "env-token") == "env-token"
    await save_refresh_token(store.conn, "x", "env-token", "rotated-1")
    await save_refresh_token(store.conn, "x", "env-token", "rotated-2")
    await store.close()
    store = await Store.open(path)
    try:
        assert await current_refresh_token(store.conn, "x", "env-token") == "rotated-2"
        # An operator who configures a fresh token starts a new chain: the stale one is ignored.
        assert await current_refresh_token(store.conn, "x", "new-env-token") == "new-env-token"
    finally:
        await store.close()
