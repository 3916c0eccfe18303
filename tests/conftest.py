"""Top-level fixtures: the Discord emulator, the X sandbox, and a real LikesBot connected to both.

    async def test_something(driver: InteractionDriver, emulator: DiscordEmulator) -> None:
        result = await driver.slash("likes post", post="https://x.com/a/status/1")
        assert result.ephemeral and "…" in result.embed["title"]
        page2 = await driver.click(result, "pager:next")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import LikesBot
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.spec.xspec import exchange_problems
from xapi.sandbox import XSandbox

pytest_plugins = ["tests.browser"]


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
