"""Open LikeLens' SQLite database (aiosqlite) and bring its schema up to date.

The schema is versioned by `MIGRATIONS`: migration n (1-based) runs once, in its own transaction,
and `schema_version` records the last one applied. A later issue adds its tables by appending one
SQL script to the list; never edit a migration that has shipped.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite

MIGRATIONS: list[str] = [
    # 1: key/value facts about the deployment (e.g. the hash of the last synced command tree),
    #    and OAuth 2.0 refresh tokens, which X rotates on every refresh.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE oauth_tokens (
        name TEXT PRIMARY KEY,
        refresh_token TEXT NOT NULL,
        seed_fingerprint TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    """,
    # 2: paginator state (ui/paginator.py): who may turn the pages, what is browsed, where it stands.
    """
    CREATE TABLE browse_states (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        owner_id INTEGER NOT NULL,
        context TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX browse_states_updated_at ON browse_states (updated_at);
    """,
    # 3: scheduled digests (store/digests.py): the digests, the items each has seen, and a run log.
    #    A due digest is found through digests_next_run_at (NULL while paused or disabled).
    """
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        guild_id INTEGER NOT NULL,
        channel_id INTEGER NOT NULL,
        creator_id INTEGER NOT NULL,
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        every_seconds INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'active',
        reason TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        baseline_done INTEGER NOT NULL DEFAULT 0,
        creator_notice TEXT,
        created_at REAL NOT NULL,
        last_run_at REAL,
        next_run_at REAL
    );
    CREATE INDEX digests_next_run_at ON digests (next_run_at);
    CREATE INDEX digests_guild ON digests (guild_id, id);
    CREATE TABLE digest_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        started_at REAL NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL,
        items_found INTEGER NOT NULL DEFAULT 0,
        items_posted INTEGER NOT NULL DEFAULT 0,
        like_count INTEGER,
        payload TEXT,
        message_id INTEGER,
        error TEXT
    );
    CREATE INDEX digest_runs_digest ON digest_runs (digest_id, id);
    CREATE TABLE digest_items (
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (digest_id, item_id)
    ) WITHOUT ROWID;
    CREATE INDEX digest_items_run ON digest_items (run_id);
    """,
    # 4: each run's ordinal within its digest (shown as "run N"). A run still pending keeps its id
    #    as its number: the message it may have sent already carries "run <id>".
    """
    ALTER TABLE digest_runs ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
    UPDATE digest_runs SET number = CASE WHEN status = 'pending' THEN id ELSE (
        SELECT COUNT(*) FROM digest_runs AS earlier
        WHERE earlier.digest_id = digest_runs.digest_id AND earlier.id <= digest_runs.id) END;
    CREATE INDEX digest_runs_number ON digest_runs (digest_id, number);
    """,
    # 5: when a `recent` digest last read each post's likers, so its runs rotate through all the
    #    posts of the last 7 days (least recently checked first).
    """
    CREATE TABLE digest_post_checks (
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        post_id TEXT NOT NULL,
        checked_at REAL NOT NULL,
        PRIMARY KEY (digest_id, post_id)
    ) WITHOUT ROWID;
    """,
    # The server each paginator belongs to (store/browse_state.py): a click in another server is
    # refused. NULL for a paginator saved before: its server is unknown, so its buttons say it expired.
    """
    ALTER TABLE browse_states ADD COLUMN guild_id INTEGER;
    """,
]


async def schema_version(conn: aiosqlite.Connection) -> int:
    """The number of migrations applied to this database (0 for a new file)."""
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    async with conn.execute("SELECT version FROM schema_version") as cursor:
        row = await cursor.fetchone()
    if row is None:
        await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        await conn.commit()
        return 0
    return int(row[0])


async def migrate(conn: aiosqlite.Connection, migrations: list[str] | None = None) -> int:
    """Apply the migrations this database has not seen yet; returns the new schema version."""
    steps = MIGRATIONS if migrations is None else migrations
    version = await schema_version(conn)
    if version > len(steps):
        raise RuntimeError(
            f"the database is at schema version {version} but this LikeLens knows only {len(steps)}: "
            "run a newer LikeLens or use another DATABASE_PATH"
        )
    for number, script in enumerate(steps[version:], start=version + 1):
        # executescript commits first, so BEGIN/COMMIT inside the script keep each step atomic.
        try:
            await conn.executescript(
                f"BEGIN;\n{script}\nUPDATE schema_version SET version = {number};\nCOMMIT;"
            )
        except Exception:
            await conn.rollback()
            raise
    return len(steps)


async def open_database(path: Path | str, migrations: list[str] | None = None) -> aiosqlite.Connection:
    """Open (creating the file and its folder) the database at path, in WAL mode, fully migrated."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        # Waits instead of failing when another connection briefly holds the write lock.
        await conn.execute("PRAGMA busy_timeout=5000")
        await migrate(conn, migrations)
    except BaseException:
        await conn.close()
        raise
    return conn


class Store:
    """The bot's one database connection; feature modules of `store` take `store.conn`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open and migrate the database at path."""
        return cls(await open_database(path), Path(path))

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        await self.conn.close()
