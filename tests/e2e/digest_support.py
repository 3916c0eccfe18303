"""Shared pieces of the digest end-to-end tests: a settable clock, a sandbox and a bot on it.

The digest test modules bind the fixtures `clock`, `dbot`, `driver` and `x` (the sandbox `dbot`
runs on) from here, and share its names (MESSAGES, POST, POST_URL, add).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot import LikesBot
from digests.scheduler import DigestScheduler
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator, Message
from tests.spec.xspec import exchange_problems
from xapi import sandbox
from xapi.sandbox import XSandbox


class SettableClock:
    """The bot's and the sandbox's clock: starts at the real now, moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextlib.asynccontextmanager
async def sandbox_on(clock: SettableClock, **options: Any) -> AsyncIterator[XSandbox]:
    """An X sandbox on the clock; its traffic is checked against X's spec on exit."""
    server = XSandbox(clock=clock.timestamp, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
    problems = exchange_problems(server.exchanges, requests=True)
    assert not problems, "\n".join(problems[:20])


@contextlib.asynccontextmanager
async def digest_bot(
    emulator: DiscordEmulator, sandbox: XSandbox, database: Path, clock: SettableClock
) -> AsyncIterator[LikesBot]:
    """A READY bot on the clock whose scheduler loop is stopped: the test calls tick() itself."""
    settings = emulator_settings(emulator, sandbox.base_url, database)
    async with running_bot(emulator, settings, clock=clock) as bot:
        await scheduler_of(bot).stop()
        yield bot


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest_asyncio.fixture
async def dbot(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> AsyncIterator[LikesBot]:
    """The digest bot on the test module's `x` sandbox, a SQLite file in tmp_path and the clock."""
    async with digest_bot(emulator, x, tmp_path / "likelens.db", clock) as running:
        yield running


@pytest.fixture
def driver(dbot: LikesBot, emulator: DiscordEmulator) -> InteractionDriver:
    return InteractionDriver(emulator)


def scheduler_of(bot: LikesBot) -> DigestScheduler:
    # load_extension imports the cog module afresh, so match by name rather than by class identity.
    scheduler = getattr(bot.get_cog("DigestsCog"), "scheduler", None)
    assert scheduler is not None and type(scheduler).__name__ == DigestScheduler.__name__
    return scheduler  # type: ignore[no-any-return]


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll predicate (gateway events do not wake the emulator's waiters) for up to 5 s."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll an async check (e.g. a database read after a gateway event) for up to 5 s."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def bot_may(bot: LikesBot, emulator: DiscordEmulator, channel: str, permission: str) -> bool:
    """What the bot's cache says it may do in channel."""
    found = bot.get_channel(int(emulator.channel(channel).id))
    assert isinstance(found, discord.TextChannel)
    return bool(getattr(found.permissions_for(found.guild.me), permission))


def posted(emulator: DiscordEmulator, channel: str = "digests") -> list[Message]:
    """The messages in a channel, oldest first."""
    return emulator.messages_in(emulator.channel(channel))


MESSAGES = ("POST", "/channels/{channel_id}/messages")
CALLBACKS = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
POST = sandbox.POST_7_LIKES
POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{POST}"


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    """The digest modules' X sandbox on the shared clock (dbot runs on it)."""
    async with sandbox_on(clock) as server:
        yield server


async def add(
    driver: InteractionDriver, subject: str = POST_URL, every: str = "6h", channel: str = "digests"
) -> str:
    """/digest add through Discord; the ephemeral answer's text."""
    result = await driver.slash("digest add", subject=subject, channel=channel, every=every)
    assert result.ephemeral
    return result.content
