"""LikeLens' process: the LikesBot client, logging with secret redaction, and `python bot.py`.

`python bot.py` runs from .env/the environment; `--sandbox` runs against the built-in X sandbox
(simulated data, needs only DISCORD_TOKEN); `--sync` forces a command sync; `--healthcheck` exits
0 while a running bot on this machine is connected (the container's HEALTHCHECK).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import discord
from discord.ext import commands
from dotenv import find_dotenv, load_dotenv

from config import DEFAULT_DATABASE_PATH, ConfigError, Settings, load_settings
from store.db import MIGRATIONS, Store
from store.meta import get_meta, set_meta
from store.oauth_tokens import current_refresh_token, save_refresh_token
from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.client import XClient

log = logging.getLogger("likelens")

EXTENSIONS = ("cogs.likes", "cogs.digests")
COMMAND_TREE_HASH_KEY = "command_tree_hash"
OAUTH2_TOKEN_NAME = "x_oauth2"
SIMULATED_NOTE = "Simulated data (LikeLens X sandbox)"
ALIVE_INTERVAL = 30.0
REDACTED = "[REDACTED]"


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
        return text

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


# What the bot needs in a channel: read it, post embeds and CSV files, and use its own buttons.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, attach_files=True, read_message_history=True
)


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot with its slash commands and the permissions it needs."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class LikesBot(commands.Bot):
    """The LikeLens client. Cogs find what they need on it: `x`, `store`, `settings`,
    `http_session`, `clock`, `simulated` and `footer_text()`."""

    x: XClient
    store: Store
    http_session: aiohttp.ClientSession

    def __init__(
        self,
        settings: Settings,
        *,
        force_sync: bool = False,
        clock: Callable[[], datetime] = utc_now,
        redactor: SecretRedactingFilter | None = None,
        alive_file: Path | None = None,
        extensions: Iterable[str] = EXTENSIONS,
        x_deadline: float = 10.0,
        **options: Any,
    ) -> None:
        # LikeLens never joins voice: spare every start discord.py's "voice will NOT be supported" warnings.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # No privileged intents: slash commands and GUILD_CREATE need only `guilds`.
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.force_sync = force_sync
        self.clock = clock
        self.simulated = settings.sandbox
        self.redactor = redactor
        self.alive_file = alive_file
        self.extension_names = tuple(extensions)
        # Seconds an X call may take (retries included) before the user is told X is slow or down.
        self.x_deadline = x_deadline
        self.failed_extensions: dict[str, BaseException] = {}
        # True when this start sent the command tree to Discord.
        self.synced_this_start = False
        self._resources = contextlib.AsyncExitStack()

    def footer_text(self, text: str = "") -> str:
        """An embed footer: text, plus the simulated-data note when running on the sandbox."""
        if not self.simulated:
            return text
        return f"{text} · {SIMULATED_NOTE}" if text else SIMULATED_NOTE

    def stamp(self, embed: discord.Embed) -> discord.Embed:
        """Set embed's footer through footer_text (keeps its text and icon); returns embed."""
        text = self.footer_text(embed.footer.text or "")
        if not text and not embed.footer.icon_url:
            # Discord refuses a footer whose text is empty ("this field is required").
            embed.remove_footer()
            return embed
        embed.set_footer(text=text, icon_url=embed.footer.icon_url)
        return embed

    async def setup_hook(self) -> None:
        self.http_session = aiohttp.ClientSession()
        self._resources.push_async_callback(self.http_session.close)
        self.store = await Store.open(self.settings.database_path)
        self._resources.push_async_callback(self.store.close)
        self.x = await self._make_x_client()
        for extension in self.extension_names:
            try:
                await self.load_extension(extension)
            except Exception as error:
                self.failed_extensions[extension] = error
                log.exception("Extension %s failed to load; the others still run", extension)
        await self.sync_commands_if_changed()
        if self.alive_file is not None:
            task = asyncio.create_task(self._keep_alive_file(self.alive_file), name="likelens-alive-file")
            self._resources.push_async_callback(self._stop_alive_file, task, self.alive_file)

    async def _make_x_client(self) -> XClient:
        settings = self.settings
        base_url = settings.x_api_base_url
        user_auth: OAuth1UserAuth | OAuth2UserAuth
        bearer = BearerAuth(settings.x_bearer_token) if settings.x_bearer_token else None
        if settings.sandbox:
            from xapi import sandbox  # noqa: PLC0415 (only sandbox runs need the server)

            # A bot runs for days: the sandbox keeps no answer bodies, so its memory stays flat.
            server = sandbox.XSandbox(clock=lambda: self.clock().timestamp(), record_bodies=False)
            base_url = await server.start()
            self._resources.push_async_callback(server.close)
            user_auth = OAuth1UserAuth(
                sandbox.SANDBOX_API_KEY, sandbox.SANDBOX_API_SECRET,
                sandbox.SANDBOX_ACCESS_TOKEN, sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
            )
            bearer = BearerAuth(sandbox.SANDBOX_BEARER_TOKEN)
            log.warning("=" * 72)
            log.warning("SANDBOX MODE: X data is SIMULATED by the built-in sandbox at %s", base_url)
            log.warning("Nothing is read from X; every embed's footer says so.")
            log.warning("=" * 72)
        elif (oauth1 := settings.oauth1_credentials()) is not None:
            user_auth = OAuth1UserAuth(*oauth1)
        elif (oauth2 := settings.oauth2_credentials()) is not None:
            user_auth = await self._oauth2_auth(*oauth2)
        else:
            raise ConfigError("no X user credentials are configured")  # config.settings_from refuses this
        return XClient(
            self.http_session, base_url=base_url, user_auth=user_auth, bearer=bearer,
            field_naming=settings.x_field_naming, clock=lambda: self.clock().timestamp(),
            deadline=self.x_deadline,
        )

    async def _oauth2_auth(
        self, client_id: str, client_secret: str | None, configured_token: str
    ) -> OAuth2UserAuth:
        conn = self.store.conn
        # The stored token descends from the configured one by rotation; the configured one may be spent.
        refresh_token = await current_refresh_token(conn, OAUTH2_TOKEN_NAME, configured_token)
        if self.redactor is not None:
            self.redactor.add(refresh_token)

        async def persist_rotated(new_token: str) -> None:
            if self.redactor is not None:
                self.redactor.add(new_token)
            await save_refresh_token(conn, OAUTH2_TOKEN_NAME, configured_token, new_token)

        auth = OAuth2UserAuth(client_id, client_secret, refresh_token, on_rotate=persist_rotated)
        if self.redactor is not None:
            # Access tokens come and go every two hours; the redactor reads the live ones.
            self.redactor.follow(lambda: auth.secrets)
        return auth

    def command_tree_payload(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """The JSON `tree.sync(guild=guild)` would send."""
        return [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]

    async def sync_commands_if_changed(self) -> bool:
        """Sync the command tree when its hash differs from the last synced one (or --sync)."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        target = f"guild:{guild.id}" if guild else "global"
        payload = self.command_tree_payload(guild)
        # The application is part of the key: a database reused with another bot token syncs again.
        digest = hashlib.sha256(
            json.dumps(
                {"application": self.application_id, "target": target, "commands": payload}, sort_keys=True
            ).encode()
        ).hexdigest()
        if not self.force_sync and await get_meta(self.store.conn, COMMAND_TREE_HASH_KEY) == digest:
            log.info("Command tree unchanged since the last sync (%s): not syncing", target)
            return False
        try:
            await self.tree.sync(guild=guild)
        except discord.HTTPException:
            log.exception("Syncing the command tree (%s) failed; the old commands stay in place", target)
            return False
        await set_meta(self.store.conn, COMMAND_TREE_HASH_KEY, digest)
        self.synced_this_start = True
        log.info("Synced %d commands (%s)", len(payload), target)
        return True

    async def on_ready(self) -> None:
        guilds = len(self.guilds)
        log.info("Ready as %s in %d server%s", self.user, guilds, "" if guilds == 1 else "s")
        if self.application_id is not None:
            log.info("Invite it to a server: %s", invite_url(self.application_id))

    async def _keep_alive_file(self, path: Path) -> None:
        # Disconnected: no file at once (the healthcheck fails now, not 90 s later); back: a fresh one.
        self.add_listener(self._alive_file_gone, "on_disconnect")
        self.add_listener(self._alive_file_fresh, "on_ready")
        self.add_listener(self._alive_file_fresh, "on_resumed")
        await self.wait_until_ready()
        while not self.is_closed():
            # Only a bot with a live gateway connection counts as healthy.
            if not self.ws or not self.ws.open:
                await asyncio.sleep(1)
                continue
            self._write_alive_file(path)
            await asyncio.sleep(ALIVE_INTERVAL)

    def _write_alive_file(self, path: Path) -> None:
        # Synchronous (a tiny write), so it never lands after an on_disconnect that removed the file.
        if not self.ws or not self.ws.open:
            return
        try:
            path.write_text(str(time.time()))
        except OSError:
            # A full disk must not end the loop silently: say so and try again next time.
            log.warning("Could not refresh the healthcheck file %s", path, exc_info=True)

    async def _alive_file_fresh(self) -> None:
        if self.alive_file is not None:
            self._write_alive_file(self.alive_file)

    async def _alive_file_gone(self) -> None:
        if self.alive_file is not None:
            with contextlib.suppress(OSError):
                self.alive_file.unlink(missing_ok=True)

    @staticmethod
    async def _stop_alive_file(task: asyncio.Task[None], path: Path) -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # A stopped bot is not healthy: the healthcheck must not see a fresh file for 90 s more.
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self._resources.aclose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bot.py", description="LikeLens: who likes your X posts")
    parser.add_argument("--sandbox", action="store_true", help="use the built-in X sandbox (simulated data)")
    parser.add_argument("--sync", action="store_true", help="sync the slash commands even if unchanged")
    parser.add_argument("--healthcheck", action="store_true", help="exit 0 if a bot here is connected")
    return parser.parse_args(argv)


def alive_file_for(database_path: Path) -> Path:
    """Where a running bot records that it is connected: beside its database (the /data volume)."""
    return database_path.parent / "likelens.alive"


def healthcheck(path: Path, max_age: float = 3 * ALIVE_INTERVAL) -> int:
    """0 when the running bot refreshed its alive file recently, else 1."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return 1
    return 0 if age <= max_age else 1


async def run_bot(settings: Settings, *, force_sync: bool, redactor: SecretRedactingFilter) -> None:
    alive_file = alive_file_for(settings.database_path)
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.healthcheck:
        # Needs only DATABASE_PATH: the container's environment may hold anything else.
        load_dotenv(find_dotenv(usecwd=True), override=False)
        return healthcheck(alive_file_for(Path(os.environ.get("DATABASE_PATH") or DEFAULT_DATABASE_PATH)))
    try:
        settings = load_settings(sandbox=args.sandbox)
    except ConfigError as error:
        print(f"LikeLens configuration error: {error}", file=sys.stderr)
        return 2
    try:
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(
            f"LikeLens configuration error: DATABASE_PATH's folder cannot be created ({error.strerror}): "
            "choose a writable path",
            file=sys.stderr,
        )
        return 2
    if (problem := database_problem(settings.database_path)) is not None:
        print(f"LikeLens configuration error: DATABASE_PATH cannot be used ({problem})", file=sys.stderr)
        return 2
    redactor = setup_logging(settings)
    try:
        asyncio.run(run_bot(settings, force_sync=args.sync, redactor=redactor))
    except KeyboardInterrupt:
        return 0
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
