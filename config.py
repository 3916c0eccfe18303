"""LikeLens' settings: one frozen dataclass read from the environment after python-dotenv loads .env.

A missing or malformed variable raises `ConfigError` whose message is one line naming the variable
and what to do; `launcher.main()` prints it and exits with status 2 before any connection is made.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import find_dotenv, load_dotenv

DEFAULT_X_API_BASE_URL = "https://api.x.com"
DEFAULT_DATABASE_PATH = "data/likelens.db"
DEFAULT_X_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
OAUTH1_VARIABLES = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
# Every variable LikeLens reads; .env.example and the README's configuration table document each one.
ENVIRONMENT_VARIABLES = (
    "DISCORD_TOKEN", "DEV_GUILD_ID", *OAUTH1_VARIABLES, "X_CLIENT_ID", "X_CLIENT_SECRET",
    "X_OAUTH2_REFRESH_TOKEN", "X_BEARER_TOKEN", "X_API_BASE_URL", "X_FIELD_NAMING", "X_ACCOUNT_GUILDS",
    "DATABASE_PATH", "LOG_LEVEL", "LIKELENS_SECRET_KEY", "X_DAILY_ITEMS_PER_SERVER",
    "WEB_HOST", "WEB_PORT", "PUBLIC_BASE_URL", "X_AUTHORIZE_URL", "DATABASE_URL", "SHARD_COUNT", "SHARD_IDS",
)
SERVER_ID_PATTERN = r"[1-9][0-9]{0,19}"

FieldNaming = Literal["tweet", "post"]
UserAuthKind = Literal["oauth1", "oauth2", "sandbox"]


class ConfigError(Exception):
    """A configuration problem, described in one line that names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    """Everything LikeLens reads from its environment. Secrets are left out of repr()."""

    discord_token: str = field(repr=False)
    x_api_key: str | None = field(default=None, repr=False)
    x_api_secret: str | None = field(default=None, repr=False)
    x_access_token: str | None = field(default=None, repr=False)
    x_access_token_secret: str | None = field(default=None, repr=False)
    x_client_id: str | None = None
    x_client_secret: str | None = field(default=None, repr=False)
    x_oauth2_refresh_token: str | None = field(default=None, repr=False)
    x_bearer_token: str | None = field(default=None, repr=False)
    x_api_base_url: str = DEFAULT_X_API_BASE_URL
    x_field_naming: FieldNaming = "tweet"
    database_path: Path = Path(DEFAULT_DATABASE_PATH)
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    # The servers the configured X account serves; None: decided by whether the application is public.
    x_account_guilds: frozenset[int] | None = None
    # Fernet keys for tokens at rest, comma-separated (accounts/token_vault.py); None: secret.key.
    likelens_secret_key: str | None = field(default=None, repr=False)
    # The items (users + posts) one server may read from X per UTC day; None: no cap.
    x_daily_items_per_server: int | None = None
    # True for `bot.py --sandbox`: X calls go to the in-process sandbox with its own credentials.
    sandbox: bool = False
    # The web server inside the bot (/x/callback, /healthz) and how browsers reach it.
    web_host: str = DEFAULT_WEB_HOST
    web_port: int = DEFAULT_WEB_PORT
    # None: the address the web server is bound to (WEB_PORT 0 in tests: known once listening).
    public_base_url: str | None = None
    # X's consent page for /x connect (the sandbox's in --sandbox mode).
    x_authorize_url: str = DEFAULT_X_AUTHORIZE_URL
    # PostgreSQL shared by every process of a deployment (postgresql://…); None: the SQLite file.
    database_url: str | None = field(default=None, repr=False)
    # Discord shards: how many the deployment runs, and which of them this process runs (None: all).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None

    @property
    def user_auth_kind(self) -> UserAuthKind:
        """Which user-context credentials the X client uses (OAuth 1.0a wins when both are set)."""
        if self.sandbox:
            return "sandbox"
        return "oauth1" if self.x_api_key else "oauth2"

    def oauth1_credentials(self) -> tuple[str, str, str, str] | None:
        """(api key, api secret, access token, access token secret) when all four are set."""
        values = (self.x_api_key, self.x_api_secret, self.x_access_token, self.x_access_token_secret)
        if values[0] and values[1] and values[2] and values[3]:
            return values[0], values[1], values[2], values[3]
        return None

    def oauth2_credentials(self) -> tuple[str, str | None, str] | None:
        """(client id, client secret or None, configured refresh token) when OAuth 2.0 is set."""
        if self.x_client_id and self.x_oauth2_refresh_token:
            return self.x_client_id, self.x_client_secret, self.x_oauth2_refresh_token
        return None

    @property
    def has_configured_account(self) -> bool:
        """Whether the environment configures an X account (else only connected accounts serve)."""
        return self.sandbox or self.oauth1_credentials() is not None or self.oauth2_credentials() is not None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value set, for the log redaction filter."""
        values = (
            self.discord_token, self.x_api_key, self.x_api_secret, self.x_access_token,
            self.x_access_token_secret, self.x_client_secret, self.x_oauth2_refresh_token,
            self.x_bearer_token, *(self.likelens_secret_key or "").split(","),
            self.database_url, _url_password(self.database_url),
        )
        return tuple(v.strip() for v in values if v and v.strip())


def _url_password(url: str | None) -> str | None:
    return urlsplit(url).password if url else None


def _check_database_url(value: str, secret_key: str | None) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres") or (not parts.hostname and not parts.path.strip("/")):
        raise ConfigError(
            "DATABASE_URL is malformed: use postgresql://user:password@host:5432/database, "
            "or remove the line to use the SQLite file at DATABASE_PATH"
        )
    if secret_key is None:
        raise ConfigError(
            "LIKELENS_SECRET_KEY is not set but DATABASE_URL is: every process sharing the database must "
            "decrypt the same stored tokens, so set the same key in each (secret.key is one process's file)"
        )
    return value


def _check_shards(count: str | None, ids: str | None) -> tuple[int | None, tuple[int, ...] | None]:
    if count is None:
        if ids is not None:
            raise ConfigError(
                "SHARD_COUNT is not set but SHARD_IDS is: set how many shards the deployment runs"
            )
        return None, None
    if not re.fullmatch(r"[1-9][0-9]{0,4}", count):
        raise ConfigError(
            f"SHARD_COUNT is malformed ({count!r}): set it to how many shards the deployment runs "
            "(a whole number above 0), or remove the line"
        )
    total = int(count)
    if ids is None:
        return total, None
    parts = [part.strip() for part in ids.split(",") if part.strip()]
    if not parts or not all(re.fullmatch(r"[0-9]{1,5}", part) and int(part) < total for part in parts):
        raise ConfigError(
            f"SHARD_IDS is malformed ({ids!r}): list this process's shards, comma-separated, each from 0 "
            f"to {total - 1} (SHARD_COUNT is {total}), or remove the line to run them all"
        )
    return total, tuple(sorted({int(part) for part in parts}))


def _get(environ: Mapping[str, str], name: str) -> str | None:
    # An empty or blank value counts as unset (the usual state of a copied .env.example line).
    value = environ.get(name, "").strip()
    return value or None


def _check_base_url(value: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(:\d+)?(/[^\s?#]*)?", value):
        raise ConfigError(
            f"X_API_BASE_URL is malformed ({value!r}): use an http(s) URL such as {DEFAULT_X_API_BASE_URL}, "
            "or remove the line"
        )
    return value.rstrip("/")


def _check_url(name: str, value: str, example: str) -> str:
    if not re.fullmatch(r"https?://[^\s/?#]+(:\d+)?(/[^\s?#]*)?", value):
        raise ConfigError(
            f"{name} is malformed ({value!r}): use an http(s) URL without query such as {example}, "
            "or remove the line"
        )
    return value.rstrip("/")


def _check_web_port(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", value) or int(value) > 65535:
        raise ConfigError(
            f"WEB_PORT is malformed ({value!r}): set it to a TCP port (0 to 65535; default "
            f"{DEFAULT_WEB_PORT}), or remove the line"
        )
    return int(value)


def _check_field_naming(value: str) -> FieldNaming:
    if value == "tweet":
        return "tweet"
    if value == "post":
        return "post"
    raise ConfigError(f"X_FIELD_NAMING is malformed ({value!r}): set it to tweet or post, or remove the line")


def _check_log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL is malformed ({value!r}): set it to one of {', '.join(LOG_LEVELS)}")
    return value.upper()


def _check_guild_id(value: str) -> int:
    if not re.fullmatch(SERVER_ID_PATTERN, value):
        raise ConfigError(
            f"DEV_GUILD_ID is malformed ({value!r}): set it to a server id (digits; Developer Mode, "
            "right-click the server, Copy Server ID), or remove the line"
        )
    return int(value)


def _check_account_guilds(value: str) -> frozenset[int]:
    ids = [part.strip() for part in value.split(",") if part.strip()]
    if not ids or not all(re.fullmatch(SERVER_ID_PATTERN, part) for part in ids):
        raise ConfigError(
            f"X_ACCOUNT_GUILDS is malformed ({value!r}): set it to the ids of the servers the configured "
            "X account serves, separated by commas (Developer Mode, right-click the server, Copy Server ID), "
            "or remove the line"
        )
    return frozenset(int(part) for part in ids)

def _check_daily_items(value: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,11}", value):
        raise ConfigError(
            f"X_DAILY_ITEMS_PER_SERVER is malformed ({value!r}): set it to the number of X items (users and "
            "posts) one server may read per UTC day, a whole number above 0, or remove the line for no cap"
        )
    return int(value)


def _check_secret_key(value: str) -> str:
    from accounts.token_vault import parse_keys  # noqa: PLC0415 (token_vault imports ConfigError)

    try:
        parse_keys(value)
    except ValueError as error:
        raise ConfigError(
            f"LIKELENS_SECRET_KEY is malformed ({error}): each comma-separated key is a Fernet key "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'), "
            "or remove the line to use secret.key beside the database"
        ) from None
    return value


def _check_x_credentials(environ: Mapping[str, str]) -> None:
    oauth1_set = [name for name in OAUTH1_VARIABLES if _get(environ, name)]
    if oauth1_set and len(oauth1_set) < len(OAUTH1_VARIABLES):
        missing = ", ".join(name for name in OAUTH1_VARIABLES if name not in oauth1_set)
        raise ConfigError(
            f"{missing.split(', ')[0]} is not set but {oauth1_set[0]} is: OAuth 1.0a needs all four of "
            f"{', '.join(OAUTH1_VARIABLES)} (missing: {missing})"
        )
    # X_CLIENT_ID alone is valid (it enables /x connect), and so are no credentials at all: the bot
    # then serves only the servers that connected an account.
    client_id = _get(environ, "X_CLIENT_ID")
    for other in ("X_OAUTH2_REFRESH_TOKEN", "X_CLIENT_SECRET"):
        if _get(environ, other) and not client_id:
            raise ConfigError(f"X_CLIENT_ID is not set but {other} is: set your X app's OAuth 2.0 client id")


def settings_from(environ: Mapping[str, str], *, sandbox: bool = False) -> Settings:
    """Settings from a mapping of environment variables; raises ConfigError on the first problem."""
    token = _get(environ, "DISCORD_TOKEN")
    if token is None:
        raise ConfigError(
            "DISCORD_TOKEN is not set: put your bot's token (Discord developer portal, Bot, Reset Token) "
            "in .env or the environment"
        )
    if not sandbox:
        _check_x_credentials(environ)
    base_url = _get(environ, "X_API_BASE_URL")
    naming = _get(environ, "X_FIELD_NAMING")
    level = _get(environ, "LOG_LEVEL")
    guild = _get(environ, "DEV_GUILD_ID")
    database = _get(environ, "DATABASE_PATH")
    account_guilds = _get(environ, "X_ACCOUNT_GUILDS")
    secret_key = _get(environ, "LIKELENS_SECRET_KEY")
    daily_items = _get(environ, "X_DAILY_ITEMS_PER_SERVER")
    web_host, web_port = _get(environ, "WEB_HOST"), _get(environ, "WEB_PORT")
    port = _check_web_port(web_port) if web_port else DEFAULT_WEB_PORT
    public_base_url, authorize_url = _get(environ, "PUBLIC_BASE_URL"), _get(environ, "X_AUTHORIZE_URL")
    database_url = _get(environ, "DATABASE_URL")
    shard_count, shard_ids = _check_shards(_get(environ, "SHARD_COUNT"), _get(environ, "SHARD_IDS"))
    return Settings(
        discord_token=token,
        x_api_key=None if sandbox else _get(environ, "X_API_KEY"),
        x_api_secret=None if sandbox else _get(environ, "X_API_SECRET"),
        x_access_token=None if sandbox else _get(environ, "X_ACCESS_TOKEN"),
        x_access_token_secret=None if sandbox else _get(environ, "X_ACCESS_TOKEN_SECRET"),
        x_client_id=None if sandbox else _get(environ, "X_CLIENT_ID"),
        x_client_secret=None if sandbox else _get(environ, "X_CLIENT_SECRET"),
        x_oauth2_refresh_token=None if sandbox else _get(environ, "X_OAUTH2_REFRESH_TOKEN"),
        x_bearer_token=None if sandbox else _get(environ, "X_BEARER_TOKEN"),
        x_api_base_url=_check_base_url(base_url) if base_url else DEFAULT_X_API_BASE_URL,
        x_field_naming=_check_field_naming(naming) if naming else "tweet",
        database_path=Path(database or DEFAULT_DATABASE_PATH),
        log_level=_check_log_level(level) if level else "INFO",
        dev_guild_id=_check_guild_id(guild) if guild else None,
        x_account_guilds=_check_account_guilds(account_guilds) if account_guilds else None,
        likelens_secret_key=_check_secret_key(secret_key) if secret_key else None,
        x_daily_items_per_server=_check_daily_items(daily_items) if daily_items else None,
        sandbox=sandbox,
        web_host=web_host or DEFAULT_WEB_HOST,
        web_port=port,
        public_base_url=(_check_url("PUBLIC_BASE_URL", public_base_url, "https://likelens.example.org")
                         if public_base_url else f"http://127.0.0.1:{port}" if port else None),
        x_authorize_url=(_check_url("X_AUTHORIZE_URL", authorize_url, DEFAULT_X_AUTHORIZE_URL)
                         if authorize_url else DEFAULT_X_AUTHORIZE_URL),
        database_url=_check_database_url(database_url, secret_key) if database_url else None,
        shard_count=shard_count,
        shard_ids=shard_ids,
    )


def load_settings(*, sandbox: bool = False) -> Settings:
    """Load .env (found from the working directory up; the environment wins) and read Settings."""
    load_dotenv(find_dotenv(usecwd=True), override=False)
    return settings_from(os.environ, sandbox=sandbox)
