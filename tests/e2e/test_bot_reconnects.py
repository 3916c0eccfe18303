"""The real bot through Discord's rough edges: a gateway that drops mid-tick, a healthcheck that
follows the connection, and a rate-limited digest send (discord.py waits it out, nothing fails)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from launcher import healthcheck  # the CLI's --healthcheck
from store import digests as store
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    MESSAGES,
    POST,
    POST_URL,
    SettableClock,
    posted,
    scheduler_of,
    until,
)
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

if TYPE_CHECKING:
    from bot import LikesBot

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


async def digest_with_new_likers(
    driver: InteractionDriver, dbot: LikesBot, x: XSandbox, clock: SettableClock
) -> None:
    """Digest #1 on POST, its baseline posted, 3 new likers and 6 hours later: due with news."""
    await driver.slash("digest add", subject=POST_URL, channel="digests", every="6h")
    await scheduler_of(dbot).tick()
    x.add_likers(POST, 3)
    clock.advance(hours=6)


async def no_failure(dbot: LikesBot, driver: InteractionDriver) -> None:
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.failures == 0 and digest.state == "active"
    listing = (await driver.slash("digest list")).embed["description"]
    assert "#1" in listing and "failed run" not in listing and "retrying" not in listing


async def test_a_digest_tick_while_the_gateway_drops_and_resumes_posts_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await digest_with_new_likers(driver, dbot, x, clock)
    reconnect = emulator.hold_gateway()
    send = emulator.hold_next(*MESSAGES)
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    await emulator.wait_until(lambda: len(emulator.requests_to(*MESSAGES)) == 2, what="the digest's send")
    await emulator.drop_gateway()  # the gateway drops while the digest is on its way
    send.set()
    report = await tick
    reconnect.set()
    await emulator.wait_for_resumes(1)
    await scheduler_of(dbot).tick()  # a tick after the resume has nothing more to post
    assert report.outcomes[1].status == "posted"
    _baseline, digest = posted(emulator)
    (run,) = [r for r in await store.run_log(dbot.store.conn, 1) if r.message_id == int(digest.id)]
    assert digest.embed["title"] == f"3 new likers: post {POST}"
    assert digest.data["nonce"] == f"d1r{run.id}"
    assert len(emulator.requests_to(*MESSAGES)) == 2
    await no_failure(dbot, driver)


async def test_a_digest_whose_answer_is_lost_in_a_reconnect_is_not_posted_twice(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await digest_with_new_likers(driver, dbot, x, clock)
    # The network fails: Discord posts the digest, the answer and the gateway are lost; op 7 follows.
    emulator.cut_next(*MESSAGES)
    reconnect = emulator.hold_gateway()
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    await emulator.wait_until(lambda: len(emulator.requests_to(*MESSAGES)) == 2, what="the digest's send")
    await emulator.drop_gateway()
    first = await tick
    reconnect.set()
    await emulator.wait_for_resumes(1)
    # A lost connection to Discord delays the digest; it is no failure of the digest's own.
    assert first.outcomes[1].status == "delayed"
    clock.advance(hours=1)  # past the retry's wait
    again = await scheduler_of(dbot).tick()
    assert again.outcomes[1].status == "posted", again.outcomes[1].text
    _baseline, digest = posted(emulator)
    assert digest.embed["title"] == f"3 new likers: post {POST}"
    # The retry found the digest in the channel's history (past the nonce's minutes): no second send.
    assert len(emulator.requests_to(*MESSAGES)) == 2
    assert any(r.route == "/channels/{channel_id}/messages" and r.method == "GET" for r in emulator.requests)
    log = await store.run_log(dbot.store.conn, 1)
    # The run log says the delay, then the run posted with the message Discord had already.
    assert [r.status for r in log[:2]] == ["delayed", "posted"] and log[1].message_id == int(digest.id)
    await no_failure(dbot, driver)


async def test_a_429_on_a_digest_send_is_waited_out_and_is_no_failure(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await digest_with_new_likers(driver, dbot, x, clock)
    emulator.rate_limit_next(*MESSAGES, retry_after=0.25)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "posted"
    limited, sent = emulator.requests_to(*MESSAGES)[1:]
    assert limited.status == 429 and limited.response["retry_after"] == 0.25 and sent.status == 200
    assert sent.at - limited.at >= 0.25  # discord.py retried after retry_after, not before
    _baseline, digest = posted(emulator)
    assert digest.embed["title"] == f"3 new likers: post {POST}"
    await no_failure(dbot, driver)


async def test_the_healthcheck_fails_while_the_bot_is_disconnected_and_passes_once_it_resumes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    alive = tmp_path / "likelens.alive"
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings, alive_file=alive):
        await until(lambda: healthcheck(alive) == 0, "healthy once READY")
        for resume, breaks in enumerate((emulator.drop_gateway, emulator.send_reconnect), start=1):
            reconnect = emulator.hold_gateway()
            await breaks()
            await until(lambda: healthcheck(alive) == 1, f"unhealthy while disconnected ({breaks.__name__})")
            reconnect.set()
            await emulator.wait_for_resumes(resume)
            await until(lambda: healthcheck(alive) == 0, f"healthy after resuming ({breaks.__name__})")
    assert healthcheck(alive) == 1
