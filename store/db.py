"""Open LikeLens' database (SQLite, or PostgreSQL with DATABASE_URL) and bring its schema up to date.

The schema is versioned by `MIGRATIONS`: migration n (1-based) runs once, in its own transaction,
and `schema_version` records the last one applied. A later issue adds its tables by appending one
SQL script to the list; never edit a migration that has shipped. (The file grows over 300 lines
with them: the migrations are append-only SQL, read in order, so they stay in one list.)
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from store.engine import Database, SqliteDatabase, open_sqlite
from store.postgres_schema import POSTGRES_MIGRATIONS
from store.transactions import transaction

# pg_advisory_xact_lock's key for schema migrations (any constant only LikeLens uses).
MIGRATION_LOCK = 0x4C696B654C656E73

# Duplicates stored before (two concurrent `/digest add`s could both insert) fold into one: the
# active one if any, else the oldest; the others go with their runs and items (ON DELETE CASCADE).
UNIQUE_DIGESTS_MIGRATION = """
    DELETE FROM digests WHERE id NOT IN (
        SELECT (SELECT kept.id FROM digests AS kept
                WHERE kept.guild_id = d.guild_id AND kept.channel_id = d.channel_id
                  AND kept.subject_kind = d.subject_kind AND kept.subject_id = d.subject_id
                ORDER BY kept.state = 'active' DESC, kept.id LIMIT 1)
        FROM digests AS d GROUP BY d.guild_id, d.channel_id, d.subject_kind, d.subject_id
    );
    CREATE UNIQUE INDEX digests_unique_subject ON digests (guild_id, channel_id, subject_kind, subject_id);
"""

# Rows stored before stay plaintext (encrypted = 0) until oauth_tokens.secure_stored_tokens runs at
# start: SQL cannot encrypt.
TOKENS_AT_REST_MIGRATION = """
    ALTER TABLE oauth_tokens ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
"""

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
    # 6: the X account (user id) a digest was added for: its Browse button works only while that
    #    account serves the server. NULL for digests added before (not known).
    """
    ALTER TABLE digests ADD COLUMN account_id TEXT;
    """,
    # 7: at most one digest per (server, channel, subject).
    UNIQUE_DIGESTS_MIGRATION,
    # 8: stored tokens are encrypted (accounts/token_vault.py).
    TOKENS_AT_REST_MIGRATION,
    # 9: OAuth 2.0 authorizations in progress (store/oauth_states.py), keyed by a hash of
    #    their state; the verifier and interaction token are stored encrypted by the caller's cipher.
    """
    CREATE TABLE oauth_states (
        state_key TEXT PRIMARY KEY,
        purpose TEXT NOT NULL CHECK (purpose IN ('connect', 'link')),
        guild_id INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        code_verifier TEXT NOT NULL,
        interaction_token TEXT,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);
    """,
    # 10: the server each paginator belongs to (store/browse_state.py): a click in another server is
    # refused. NULL for a paginator saved before: its server is unknown, so its buttons say it expired.
    """
    ALTER TABLE browse_states ADD COLUMN guild_id INTEGER;
    """,
    # 11: the X account each server connected with /x connect (store/connected_accounts.py);
    #    its tokens are Fernet text (the vault attached to the connection), never plaintext.
    """
    CREATE TABLE connected_accounts (
        guild_id INTEGER PRIMARY KEY,
        x_user_id TEXT NOT NULL,
        handle TEXT NOT NULL,
        name TEXT NOT NULL,
        refresh_token TEXT,
        access_token TEXT,
        access_expires_at REAL,
        scopes TEXT NOT NULL,
        connected_by INTEGER NOT NULL,
        connected_at REAL NOT NULL,
        needs_reconnect TEXT
    );
    """,
    # 12: items (users + posts) each server read from X per UTC day (store/daily_usage.py).
    """
    CREATE TABLE daily_usage (
        guild_id INTEGER NOT NULL,
        day TEXT NOT NULL,
        items INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (guild_id, day)
    ) WITHOUT ROWID;
    """,
    # 13: members' opted-in X accounts (store/member_links.py),
    #    one per member per server and one member per X account per server; no token of theirs.
    """
    CREATE TABLE member_links (
        guild_id INTEGER NOT NULL,
        member_id INTEGER NOT NULL,
        x_user_id TEXT NOT NULL,
        handle TEXT NOT NULL,
        linked_at REAL NOT NULL,
        PRIMARY KEY (guild_id, member_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX member_links_x_user ON member_links (guild_id, x_user_id);
    """,
    # 14: recorded likers and like counts of the X accounts' posts (store/like_history.py),
    #    keyed by the account that read them, and when each post's likers were last read.
    """
    CREATE TABLE post_likers (
        account_id TEXT NOT NULL,
        post_id TEXT NOT NULL,
        liker_id TEXT NOT NULL,
        handle TEXT NOT NULL,
        first_seen REAL NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('digest', 'lookup', 'live')),
        PRIMARY KEY (account_id, post_id, liker_id)
    ) WITHOUT ROWID;
    CREATE INDEX post_likers_first_seen ON post_likers (first_seen);
    CREATE TABLE like_count_samples (
        account_id TEXT NOT NULL,
        post_id TEXT NOT NULL,
        at REAL NOT NULL,
        like_count INTEGER NOT NULL,
        PRIMARY KEY (account_id, post_id, at)
    ) WITHOUT ROWID;
    CREATE INDEX like_count_samples_at ON like_count_samples (at);
    CREATE TABLE post_liker_reads (
        account_id TEXT NOT NULL,
        post_id TEXT NOT NULL,
        read_at REAL NOT NULL,
        like_count INTEGER,
        PRIMARY KEY (account_id, post_id)
    ) WITHOUT ROWID;
    CREATE INDEX post_liker_reads_read_at ON post_liker_reads (read_at);
    """,
    # 15: live likes (store/like_events.py): the app's like.create subscriptions LikeLens made, the
    #     like events recorded before anything is posted (deduplicated by event_uuid and by
    #     post + liker), each live digest's position in them, and notes its next message carries.
    """
    CREATE TABLE live_subscriptions (
        account_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (account_id, direction)
    ) WITHOUT ROWID;
    CREATE TABLE like_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event_uuid TEXT UNIQUE,
        account_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        post_id TEXT NOT NULL,
        liker_id TEXT,
        liker_json TEXT,
        liked_at REAL,
        recorded_at REAL NOT NULL,
        UNIQUE (account_id, direction, post_id, liker_id)
    );
    CREATE INDEX like_events_unresolved ON like_events (post_id) WHERE liker_id IS NULL;
    CREATE TABLE live_cursors (
        digest_id INTEGER PRIMARY KEY REFERENCES digests (id) ON DELETE CASCADE,
        last_event_id INTEGER NOT NULL
    );
    CREATE TABLE live_notes (
        id INTEGER PRIMARY KEY,
        digest_id INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
        text TEXT NOT NULL
    );
    """,
    # 16: work shared by several bot processes on one database (issue 13): a due digest is claimed
    #     by one process until claim_expires_at (a crashed process's claims are taken over after
    #     it); leases name the one process doing a job (the live-likes stream, pruning, command
    #     sync); X's rate budgets per endpoint and token identity, so N processes spend one budget.
    """
    ALTER TABLE digests ADD COLUMN claimed_by TEXT;
    ALTER TABLE digests ADD COLUMN claim_expires_at REAL;
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE x_rate_budgets (
        endpoint TEXT NOT NULL,
        identity TEXT NOT NULL,
        budget_limit INTEGER NOT NULL,
        remaining INTEGER NOT NULL,
        reset_at REAL NOT NULL,
        PRIMARY KEY (endpoint, identity)
    ) WITHOUT ROWID;
    """,
]


async def schema_version(conn: Database) -> int:
    """The number of migrations applied to this database (0 for a new one)."""
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    async with conn.execute("SELECT version FROM schema_version") as cursor:
        row = await cursor.fetchone()
    if row is None:
        async with transaction(conn):
            await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        return 0
    return int(row[0])


def _check_known(version: int, steps: list[str]) -> None:
    if version > len(steps):
        raise RuntimeError(
            f"the database is at schema version {version} but this LikeLens knows only {len(steps)}: "
            "run a newer LikeLens or use another DATABASE_PATH or DATABASE_URL"
        )


async def migrate(conn: Database, migrations: list[str] | None = None) -> int:
    """Apply the migrations this database has not seen yet; returns the new schema version."""
    if conn.dialect == "postgresql":
        return await _migrate_postgres(conn, POSTGRES_MIGRATIONS if migrations is None else migrations)
    steps = MIGRATIONS if migrations is None else migrations
    version = await schema_version(conn)
    _check_known(version, steps)
    # Runs while the database is opened, before any other coroutine holds the connection.
    for number, script in enumerate(steps[version:], start=version + 1):
        # executescript commits first, so BEGIN/COMMIT inside the script keep each step atomic.
        try:
            await conn.executescript(
                f"BEGIN;\n{script}\nUPDATE schema_version SET version = {number};\nCOMMIT;"
            )
        except Exception:
            if isinstance(conn, SqliteDatabase):
                await conn.raw.rollback()
            raise
    return len(steps)


async def _migrate_postgres(conn: Database, steps: list[str]) -> int:
    # Processes starting together take turns: the advisory lock is held until the step commits,
    # and each re-reads the version under it, so every step runs once.
    for _ in range(len(steps) + 1):
        async with transaction(conn):
            await conn.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            version = await schema_version(conn)
            _check_known(version, steps)
            if version == len(steps):
                return version
            await conn.executescript(steps[version])
            await conn.execute("UPDATE schema_version SET version = ?", (version + 1,))
    return len(steps)


async def open_database(path: Path | str, migrations: list[str] | None = None) -> SqliteDatabase:
    """Open (creating the file and its folder) the SQLite database at path, in WAL mode, fully migrated."""
    conn = await open_sqlite(Path(path))
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        # Waits instead of failing when another connection briefly holds the write lock.
        await conn.execute("PRAGMA busy_timeout=5000")
        # Deleted and overwritten content (an old token's ciphertext, or a plaintext one) is zeroed.
        await conn.execute("PRAGMA secure_delete=ON")
        await migrate(conn, migrations)
    except BaseException:
        await conn.close()
        raise
    return conn


async def open_postgres(url: str, migrations: list[str] | None = None) -> Database:
    """Connect a pool to the PostgreSQL database at url (DATABASE_URL) and migrate it."""
    from store.postgres import PostgresDatabase  # noqa: PLC0415 (SQLite deployments never load asyncpg)

    conn = await PostgresDatabase.connect(url)
    try:
        await migrate(conn, migrations)
    except BaseException:
        await conn.close()
        raise
    return conn


class DatabaseUnavailable(Exception):
    """DATABASE_URL's PostgreSQL could not be reached or refused us (one sentence, no password)."""


async def open_store(path: Path, url: str | None) -> Store:
    """The deployment's store: PostgreSQL at url when set, else the SQLite file at path."""
    if url is None:
        return await Store.open(path)
    parts = urlsplit(url)
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    try:
        return await Store.connect(url)
    except (OSError, TimeoutError) as error:
        raise DatabaseUnavailable(
            f"LikeLens could not reach DATABASE_URL's PostgreSQL at {where} ({error.__class__.__name__}): "
            "check that it runs and the URL's host and port"
        ) from None
    except Exception as error:
        if error.__class__.__module__.startswith("asyncpg"):
            raise DatabaseUnavailable(
                f"DATABASE_URL's PostgreSQL at {where} refused LikeLens ({error.__class__.__name__}): "
                "check the URL's user, password and database"
            ) from None
        raise


class Store:
    """The bot's database; feature modules of `store` take `store.conn` (store/engine.py's Database)."""

    def __init__(self, conn: Database, path: Path | None, url: str | None = None) -> None:
        self.conn = conn
        # The SQLite file (None on PostgreSQL), and the PostgreSQL URL (None on SQLite).
        self.path = path
        self.url = url

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open and migrate the SQLite database at path."""
        return cls(await open_database(path), Path(path))

    @classmethod
    async def connect(cls, url: str) -> Store:
        """Connect to and migrate the PostgreSQL database at url."""
        return cls(await open_postgres(url), None, url)

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        await self.conn.close()
