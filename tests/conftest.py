"""Top-level fixtures: the Discord emulator, the X sandbox, and a real LikesBot connected to both.

    async def test_something(driver: InteractionDriver, emulator: DiscordEmulator) -> None:
        result = await driver.slash("likes post", post="https://x.com/a/status/1")
        assert result.ephemeral and "…" in result.embed["title"]
        page2 = await driver.click(result, "pager:next")
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import LikesBot
from tests import engines
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.spec.xspec import exchange_problems
from xapi.sandbox import XSandbox

pytest_plugins = ["tests.browser"]

# The test modules that run on both engines: the store's, the digests', the accounts' and the live
# likes' (a test about SQLite's own file is marked sqlite_only).
BOTH_ENGINES = re.compile(
    r"tests/(store/|accounts/test_registry|e2e/test_(digest|live_|x_connect|isolation|needs_reconnect|"
    r"daily_cap|account_rule|members_|oauth2_token_saving))"
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    both = BOTH_ENGINES.search(metafunc.definition.path.as_posix()) is not None
    if both and metafunc.definition.get_closest_marker("sqlite_only") is None:
        metafunc.parametrize("db_engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def db_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database engine of this test: SQLite, or a fresh PostgreSQL schema (tests/engines.py)."""
    engine: str = getattr(request, "param", "sqlite")
    if engine == "postgresql":
        with engines.postgres_schema():
            yield engine
    else:
        yield engine


@pytest_asyncio.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    """A started Discord emulator on 127.0.0.1 (free port): one guild with #general and #digests."""
    async with DiscordEmulator() as server:
        yield server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "off_spec_requests: the test sends requests outside X's spec on purpose; "
        "the sandbox fixture then checks only its answers against the spec",
    )
    config.addinivalue_line(
        "markers", "sqlite_only: a test of SQLite's own file or behaviour (not run on PostgreSQL)"
    )


@pytest_asyncio.fixture
async def x_sandbox(request: pytest.FixtureRequest) -> AsyncIterator[XSandbox]:
    """A started X sandbox on 127.0.0.1 (free port); at teardown its traffic is checked against X's spec.

    So every test that talks to the sandbox, through the bot or the client, also proves both sides
    speak X's API. A test that sends off-spec requests on purpose is marked `off_spec_requests`.
    """
    server = XSandbox()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
    check_requests = request.node.get_closest_marker("off_spec_requests") is None
    problems = exchange_problems(server.exchanges, requests=check_requests)
    assert not problems, (
        "sandbox traffic outside X's spec (mark the test off_spec_requests if it sends such requests "
        "on purpose):\n" + "\n".join(problems[:20])
    )


@pytest_asyncio.fixture
async def bot(emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path) -> AsyncIterator[LikesBot]:
    """A real LikesBot, READY on the emulator, its X client on the sandbox, its SQLite file in tmp_path."""
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "data" / "likelens.db")
    async with running_bot(emulator, settings) as running:
        yield running


@pytest_asyncio.fixture
async def driver(bot: LikesBot, emulator: DiscordEmulator) -> InteractionDriver:
    """Sends slash commands and clicks to the running `bot` as a moderator (or a given member)."""
    return InteractionDriver(emulator)
