"""A real PostgreSQL for the tests: a fresh schema per test on the server the environment names.

Found through `LIKELENS_TEST_POSTGRES_URL`, or the libpq variables `pg_virtualenv` exports (PGHOST,
PGPORT, PGUSER, PGPASSWORD, PGDATABASE). Without one, PostgreSQL tests skip with one line; with
`LIKELENS_REQUIRE_POSTGRES=1` (set by .ci/run) they fail instead, so CI cannot skip them silently.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import pytest

NOT_FOUND = (
    "no PostgreSQL found: run the tests under pg_virtualenv, or set LIKELENS_TEST_POSTGRES_URL "
    "(LIKELENS_REQUIRE_POSTGRES=1 makes this a failure)"
)


@functools.cache
def server_url() -> str | None:
    """The test server's URL, or None when the environment names none."""
    explicit = os.environ.get("LIKELENS_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    host = os.environ.get("PGHOST")
    if not host:
        return None
    user = quote(os.environ.get("PGUSER", "postgres"), safe="")
    password = os.environ.get("PGPASSWORD")
    auth = f"{user}:{quote(password, safe='')}" if password else user
    port = os.environ.get("PGPORT", "5432")
    database = os.environ.get("PGDATABASE", "postgres")
    return f"postgresql://{auth}@{host}:{port}/{database}"


def require_server() -> str:
    """The server's URL; skips the test (or fails it, when PostgreSQL is required) without one."""
    url = server_url()
    if url is None:
        if os.environ.get("LIKELENS_REQUIRE_POSTGRES") == "1":
            pytest.fail(NOT_FOUND)
        pytest.skip(NOT_FOUND)
    return url


def with_search_path(url: str, schema: str) -> str:
    """url whose connections use schema (asyncpg passes unknown query parameters as server settings)."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


async def create_schema() -> tuple[str, str]:
    """(URL, name) of a new empty schema of the test's own on the test server."""
    url = require_server()
    schema = f"likelens_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    return with_search_path(url, schema), schema


async def drop_schema(schema: str) -> None:
    """Drop a schema create_schema made, with everything in it."""
    url = require_server()
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """The URL of an empty schema of its own on the test server, dropped afterwards."""
    url, schema = await create_schema()
    try:
        yield url
    finally:
        await drop_schema(schema)
