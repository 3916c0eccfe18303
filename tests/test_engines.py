"""SQLite's and PostgreSQL's migrations build the same schema: the same tables, the same columns."""

from __future__ import annotations

from pathlib import Path

from store.db import MIGRATIONS, Store
from store.engine import Database
from store.postgres_schema import POSTGRES_MIGRATIONS
from tests import postgres
from tests.engines import table_columns


async def tables(conn: Database) -> list[str]:
    if conn.dialect == "sqlite":
        rows = await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    else:
        rows = await conn.execute_fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    return sorted(str(row[0]) for row in rows)


async def schema(conn: Database) -> dict[str, list[str]]:
    return {table: await table_columns(conn, table) for table in await tables(conn)}


async def test_both_engines_end_with_the_same_tables_and_columns(tmp_path: Path) -> None:
    sqlite = await Store.open(tmp_path / "likelens.db")
    try:
        async with postgres.fresh_schema() as url:
            pg = await Store.connect(url)
            try:
                assert await schema(pg.conn) == await schema(sqlite.conn)
                assert len(await tables(pg.conn)) == 21
            finally:
                await pg.close()
    finally:
        await sqlite.close()


def test_postgresql_has_a_migration_for_sqlites_16_onward() -> None:
    # PostgreSQL's migration 1 is SQLite's 1-15; every later SQLite migration has its twin.
    assert len(POSTGRES_MIGRATIONS) == len(MIGRATIONS) - 14
