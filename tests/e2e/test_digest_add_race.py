"""Two `/digest add`s of the same digest at the same moment: one digest, the other hears it exists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, sandbox_on
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{sandbox.POST_7_LIKES}"

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


async def test_two_concurrent_adds_of_one_digest_make_one_and_tell_the_other_it_exists(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    results = await asyncio.gather(*(
        driver.slash("digest add", subject=POST_URL, channel="digests", every="6h") for _ in range(2)
    ))
    (digest,) = await store.guild_digests(dbot.store.conn, int(emulator.guild.id))
    channel = emulator.channel("digests")
    answers = sorted(result.content for result in results)
    assert answers[0].startswith(f"Digest #{digest.id} already posts this to <#{channel.id}>.")
    assert answers[1].startswith(f"Digest #{digest.id} created")
    assert all(result.ephemeral for result in results)
