"""The aiosqlite connection under a store's Database, for tests of SQLite's own behaviour."""

from __future__ import annotations

import aiosqlite

from store.engine import Database, SqliteDatabase


def sqlite_raw(conn: Database) -> aiosqlite.Connection:
    """conn's aiosqlite connection (the test is about SQLite: it fails on another engine)."""
    assert isinstance(conn, SqliteDatabase), f"a SQLite-only test got a {conn.dialect} database"
    return conn.raw
