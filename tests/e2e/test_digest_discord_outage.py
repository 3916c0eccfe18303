"""A Discord outage delays digests (the run stays pending, the waits grow) and never disables them."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import discord
import pytest
import pytest_asyncio

from bot import LikesBot
from digests.policy import MAX_FAILURES
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, posted, sandbox_on, scheduler_of
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver

MESSAGES = ("POST", "/channels/{channel_id}/messages")
POST = sandbox.POST_7_LIKES
# discord.py retries a 429 itself (5 tries) before it raises: a send fails once all five are refused.
ANSWERS_PER_FAILED_SEND = {503: 1, 429: 5}


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


def fail_one_send(emulator: DiscordEmulator, status: int) -> None:
    for _ in range(ANSWERS_PER_FAILED_SEND[status]):
        emulator.fail_next(*MESSAGES, status, message="emulated outage")


@pytest.mark.parametrize("status", [503, 429])
async def test_a_discord_outage_longer_than_the_failure_budget_delays_and_posts_once_when_back(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
    *, status: int,
) -> None:
    await driver.slash("digest add", subject=POST, channel="digests", every="1h")
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    new_ids = x.add_likers(POST, 2)
    clock.advance(hours=1, minutes=1)
    sends_before = len(emulator.requests_to(*MESSAGES))
    waits = []
    for _ in range(MAX_FAILURES + 2):
        fail_one_send(emulator, status)
        report = await scheduler.tick()
        assert report.outcomes[1].status == "delayed"
        found = await store.get_digest(dbot.store.conn, 1)
        assert found is not None and found.state == "active" and found.next_run_at is not None
        assert found.failures == 0
        waits.append(found.next_run_at - clock.timestamp())
        clock.now = datetime.fromtimestamp(found.next_run_at + 1, UTC)
    # Every try sent the same run: same nonce; nothing reached the channel.
    tries = emulator.requests_to(*MESSAGES)[sends_before:]
    assert len(tries) == (MAX_FAILURES + 2) * ANSWERS_PER_FAILED_SEND[status]
    assert len({r.json["nonce"] for r in tries}) == 1
    assert len(posted(emulator)) == 1
    # The waits grow while the outage lasts, from 5 minutes up to the digest's period.
    assert waits[0] == pytest.approx(300) and waits[-1] == pytest.approx(3600)
    assert waits == sorted(waits)

    # Discord is back: the pending run is posted once, then the digest runs on its period.
    report = await scheduler.tick()
    assert report.outcomes[1].status == "posted"
    _baseline, digest = posted(emulator)
    assert digest.embed["title"] == f"2 new likers: post {POST}"
    for user_id in new_ids:
        assert x.world.users[user_id].username.replace("_", "\\_") in digest.embed["description"]
    found = await store.get_digest(dbot.store.conn, 1)
    assert found is not None and found.state == "active" and found.failures == 0
    clock.advance(hours=1, minutes=1)
    assert (await scheduler.tick()).outcomes[1].status == "nothing_new"
    assert len(posted(emulator)) == 2


async def test_a_discord_outage_does_not_spend_the_x_failure_budget(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject=POST, channel="digests", every="1h")
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    # X fails a few runs in a row (its budget counts them) ...
    x.faults.server_error_ratio = 1.0
    for _ in range(MAX_FAILURES - 2):
        clock.advance(hours=7)
        assert (await scheduler.tick()).outcomes[1].status == "failed"
    x.faults.server_error_ratio = 0.0
    x.add_likers(POST, 1)
    # ... then Discord fails several: the X streak neither grows nor disables the digest.
    for _ in range(3):
        clock.advance(hours=7)
        fail_one_send(emulator, 503)
        assert (await scheduler.tick()).outcomes[1].status == "delayed"
    found = await store.get_digest(dbot.store.conn, 1)
    assert found is not None and found.state == "active" and found.failures == MAX_FAILURES - 2
    clock.advance(hours=7)
    assert (await scheduler.tick()).outcomes[1].status == "posted"


@contextlib.contextmanager
def discord_out_of_reach() -> Iterator[None]:
    """Discord's HTTP API refuses connections (the gateway stays up): a closed port on this machine."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    reachable = discord.http.Route.BASE
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    try:
        yield
    finally:
        discord.http.Route.BASE = reachable


async def test_a_failed_connection_to_discord_delays_the_run_and_never_disables_it(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await driver.slash("digest add", subject=POST, channel="digests", every="1h")
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    x.add_likers(POST, 1)
    for _ in range(MAX_FAILURES + 1):
        clock.advance(hours=2)
        with discord_out_of_reach():
            assert (await scheduler.tick()).outcomes[1].status == "delayed"
    found = await store.get_digest(dbot.store.conn, 1)
    assert found is not None and found.state == "active" and found.failures == 0
    clock.advance(hours=2)
    assert (await scheduler.tick()).outcomes[1].status == "posted"
    assert len(posted(emulator)) == 2
