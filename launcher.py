"""`python bot.py`: settings, logging with secret redaction, the single-instance lock, signals
and exit codes around one LikesBot.

`python bot.py` runs from .env/the environment; `--sandbox` runs against the built-in X sandbox
(simulated data, needs only DISCORD_TOKEN); `--sync` forces a command sync; `--healthcheck` exits
0 while the running bot of this machine's SHARD_IDS is connected (the container's HEALTHCHECK).

Exit codes: 0 stopped cleanly (SIGTERM, Ctrl-C); 1 the web server's port is taken, or Discord
refused the token or could not be reached at the first login; 2 a configuration error, another
LikeLens already running on the same SQLite database (one line on stderr, nothing contacted), or
a shard Discord refused (4010: the processes disagree on SHARD_COUNT; 4011: sharding required).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import logging
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import aiohttp
import discord
from dotenv import find_dotenv, load_dotenv

from bot import LikesBot
from config import DEFAULT_DATABASE_PATH, ConfigError, Settings, load_settings
from store.db import MIGRATIONS, DatabaseUnavailable
from web import WebServerError
from web.alive_file import ALIVE_INTERVAL, shard_ids_in

log = logging.getLogger("likelens")

REDACTED = "[REDACTED]"
# The token part of interaction-callback and webhook URLs (discord.py logs request URLs at DEBUG).
URL_TOKEN = re.compile(r"(/(?:interactions|webhooks)/[0-9]+/)[A-Za-z0-9._~-]+")
# Discord's gateway close codes for a shard it will not accept.
INVALID_SHARD, SHARDING_REQUIRED = 4010, 4011
# Beside the database: SQLite's own files (the database holds X tokens and who liked what).
DATABASE_COMPANIONS = ("", "-wal", "-shm", "-journal")


class SecretRedactingFilter(logging.Filter):
    """Replaces every known secret (and its URL-encoded form) in a record's message and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._sources: list[Callable[[], Iterable[str]]] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Redact secret from now on (e.g. a freshly rotated refresh token)."""
        # Very short values would redact ordinary words; no real token is this short.
        if len(secret) >= 4:
            self._secrets.update({secret, quote(secret, safe="")})

    def follow(self, source: Callable[[], Iterable[str]]) -> None:
        """Redact whatever source returns at each record (e.g. OAuth 2.0 access tokens as they change)."""
        self._sources.append(source)

    def redact(self, text: str) -> str:
        secrets = set(self._secrets)
        for source in self._sources:
            secrets.update(s for value in source() if len(value) >= 4 for s in (value, quote(value, safe="")))
        # Longest first, so a secret containing another is replaced whole.
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        # Interaction and webhook tokens come and go with each command: matched by where they stand.
        return URL_TOKEN.sub(rf"\g<1>{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the final text of another formatter.

    discord.py's colour formatter (used on a terminal and in Docker) re-renders tracebacks from
    exc_info, so redacting the record alone is not enough.
    """

    def __init__(self, inner: logging.Formatter, redactor: SecretRedactingFilter) -> None:
        super().__init__()
        self.inner = inner
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(self.inner.format(record))


def setup_logging(settings: Settings) -> SecretRedactingFilter:
    """Log to stderr at LOG_LEVEL through discord.py's formatter, with every secret redacted."""
    redactor = SecretRedactingFilter(settings.secrets)
    handler = logging.StreamHandler()
    handler.addFilter(redactor)
    discord.utils.setup_logging(handler=handler, level=getattr(logging, settings.log_level), root=True)
    handler.setFormatter(RedactingFormatter(handler.formatter or logging.Formatter(), redactor))
    return redactor


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="LikeLens: who likes your X posts")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in X sandbox (simulated data)")
    parser.add_argument("--sync", action="store_true", help="sync the slash commands even if unchanged")
    parser.add_argument("--healthcheck", action="store_true", help="exit 0 if a bot here is connected")
    return parser.parse_args(argv)


def alive_file_for(database_path: Path, shard_ids: Iterable[int] | None = None) -> Path:
    """Where a running bot records that it is connected: beside its database (the /data volume),
    one file per shard set, so two processes of one machine never share one."""
    if shard_ids is None:
        return database_path.parent / "likelens.alive"
    return database_path.parent / f"likelens-shards-{'-'.join(str(i) for i in sorted(shard_ids))}.alive"


def healthcheck(path: Path, max_age: float = 3 * ALIVE_INTERVAL) -> int:
    """0 when the running bot refreshed its alive file recently, else 1."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return 1
    return 0 if age <= max_age else 1


async def run_bot(settings: Settings, *, force_sync: bool, redactor: SecretRedactingFilter) -> None:
    alive_file = alive_file_for(settings.database_path, settings.shard_ids)
    bot = LikesBot(settings, force_sync=force_sync, redactor=redactor, alive_file=alive_file)
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def close_on_sigterm() -> None:
        # Kept referenced until done, or the event loop could drop the closing task mid-way.
        task = asyncio.ensure_future(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    # `docker stop` sends SIGTERM: close cleanly (gateway, session, database) instead of dying.
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, close_on_sigterm)
    async with bot:
        await bot.start(settings.discord_token)


def gateway_refusal(error: discord.ConnectionClosed, settings: Settings) -> str:
    """One sentence for the operator when Discord closed the gateway for good."""
    count = settings.shard_count or 1
    shard = f"shard {error.shard_id if error.shard_id is not None else 0} of {count}"
    if error.code == INVALID_SHARD:
        return (
            f"Discord refused {shard} (4010 Invalid shard): every process of the deployment must have the "
            "same SHARD_COUNT, and SHARD_IDS from 0 to SHARD_COUNT - 1; fix them and start again"
        )
    if error.code == SHARDING_REQUIRED:
        more = "set SHARD_COUNT" + (" higher" if settings.shard_count else " (and each process's SHARD_IDS)")
        return (
            f"Discord refused {shard} (4011 Sharding required): the bot is in too many servers for this many "
            f"shards; {more} (Discord asks one shard per 2,500 servers) and start again"
        )
    return f"Discord closed the gateway ({error.code}: {error.reason or 'no reason given'}): LikeLens stopped"


def database_problem(path: Path) -> str | None:
    """None when the database at path can be opened for writing by this LikeLens; else why not.

    Checked synchronously before Discord is contacted (aiosqlite's worker thread outlives a failed
    connect and would spill a traceback after the event loop closed).
    """
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            # BEGIN IMMEDIATE takes the write lock: a read-only file or folder fails here, not later.
            conn.execute("BEGIN IMMEDIATE")
            has_version = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            row = conn.execute("SELECT version FROM schema_version").fetchone() if has_version else None
            conn.rollback()
    except sqlite3.Error as error:
        return str(error) or type(error).__name__
    if row is not None and int(row[0]) > len(MIGRATIONS):
        return f"it was written by a newer LikeLens (schema {row[0]}, this one knows {len(MIGRATIONS)})"
    return None


class AlreadyRunning(Exception):
    """Another LikeLens holds the database's lock; the message says which process, since when."""


def lock_file_for(database_path: Path) -> Path:
    return database_path.with_name(f"{database_path.name}.lock")


def take_instance_lock(database_path: Path) -> int:
    """Lock database_path's lock file for this process's life (the descriptor is never closed).

    Two bots on one database would both run every digest and spend one X budget twice. The kernel
    drops a flock when its process ends, however it ends: no stale lock survives a crash.
    Raises AlreadyRunning, or OSError when the lock file cannot be opened.
    """
    path = lock_file_for(database_path)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 200).decode(errors="replace").strip() or "unknown"
        os.close(descriptor)
        raise AlreadyRunning(
            f"LikeLens is already running on {database_path} (lock {path} held by {holder}): stop it first"
        ) from None
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"process {os.getpid()} since {started}\n".encode())
    return descriptor


def make_database_private(database_path: Path) -> None:
    """Take group and other permissions off the database files an older LikeLens left readable.

    New files are private through the umask main() sets; the folder is left as it is (it may be a
    volume or the working directory) and nothing is ever loosened.
    """
    for suffix in DATABASE_COMPANIONS:
        path = database_path.with_name(database_path.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode
            if path.is_file() and mode & 0o077:
                path.chmod(mode & 0o700)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.healthcheck:
        # Needs only DATABASE_PATH and SHARD_IDS: the container's environment may hold anything else.
        load_dotenv(find_dotenv(usecwd=True), override=False)
        database_path = Path(os.environ.get("DATABASE_PATH") or DEFAULT_DATABASE_PATH)
        return healthcheck(alive_file_for(database_path, shard_ids_in(os.environ)))
    try:
        settings = load_settings(sandbox=args.sandbox)
    except ConfigError as error:
        print(f"LikeLens configuration error: {error}", file=sys.stderr)
        return 2
    # Everything the bot creates (database folder, database, its -wal/-shm, lock) is its user's
    # alone; a stricter umask set by the user stays.
    os.umask(os.umask(0o077) | 0o077)
    try:
        settings.database_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        print(
            f"LikeLens configuration error: DATABASE_PATH's folder cannot be created ({error.strerror}): "
            "choose a writable path",
            file=sys.stderr,
        )
        return 2
    try:
        # Held until the process ends: the name keeps the descriptor referenced, for the reader.
        # On PostgreSQL many processes share the database by design (work is claimed in it).
        _instance_lock = None if settings.database_url else take_instance_lock(settings.database_path)
        if not settings.database_url:
            make_database_private(settings.database_path)
    except AlreadyRunning as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(
            "LikeLens configuration error: DATABASE_PATH cannot be used "
            f"({error.strerror}: {error.filename})",
            file=sys.stderr,
        )
        return 2
    if not settings.database_url and (problem := database_problem(settings.database_path)) is not None:
        print(f"LikeLens configuration error: DATABASE_PATH cannot be used ({problem})", file=sys.stderr)
        return 2
    redactor = setup_logging(settings)
    try:
        asyncio.run(run_bot(settings, force_sync=args.sync, redactor=redactor))
    except KeyboardInterrupt:
        return 0
    except DatabaseUnavailable as error:
        log.error("%s", error)
        return 1
    except WebServerError as error:
        # A busy WEB_PORT: the sentence names the address and the variables to change.
        log.error("%s", error)
        return 1
    except discord.ConnectionClosed as error:
        log.error("%s", gateway_refusal(error, settings))
        return 2 if error.code in (INVALID_SHARD, SHARDING_REQUIRED) else 1
    except discord.LoginFailure:
        log.error("Discord refused DISCORD_TOKEN: copy the bot token again from the developer portal")
        return 1
    except (aiohttp.ClientConnectionError, TimeoutError) as error:
        # Only the first login lands here: once connected, discord.py reconnects by itself.
        log.error("LikeLens could not reach Discord (%s): check this machine's network and try again", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
