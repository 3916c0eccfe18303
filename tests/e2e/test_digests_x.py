"""/digest against X's limits and failures, and at scale: 429, the moderators' reserve, 5xx, 1,000 digests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import discord
import pytest
import pytest_asyncio

from bot import LikesBot
from digests.policy import MAX_FAILURES
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    SettableClock,
    digest_bot,
    posted,
    sandbox_on,
    scheduler_of,
)
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.auth import OAuth1UserAuth
from xapi.client import XClient
from xapi.sandbox import XSandbox

POST = sandbox.POST_7_LIKES
WINDOW_LIMIT = 4


# The digest tests' shared fixtures (each module brings its own `x` sandbox, which dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock, rate_limits={"liking_users": WINDOW_LIMIT}) as server:
        yield server


async def add_digest(driver: InteractionDriver) -> None:
    result = await driver.slash("digest add", subject=POST, channel="digests", every="6h")
    assert "created" in result.content


async def test_a_429_from_x_moves_the_digest_after_the_reset(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    # Another process with the same token used up the window: this bot's client does not know.
    async with aiohttp.ClientSession() as session:
        other = XClient(session, base_url=x.base_url, clock=clock.timestamp, user_auth=OAuth1UserAuth(
            sandbox.SANDBOX_API_KEY, sandbox.SANDBOX_API_SECRET,
            sandbox.SANDBOX_ACCESS_TOKEN, sandbox.SANDBOX_ACCESS_TOKEN_SECRET))
        for post in (sandbox.POST_100_LIKES, sandbox.POST_MANY_LIKES, sandbox.POST_NO_LIKES,
                     sandbox.POST_OWNER_PINNED):
            await other.liking_users(post)
    await add_digest(driver)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "rate_limited"
    assert [r.status for r in x.requests_to("/liking_users")][-1] == 429
    digest = await store.get_digest(dbot.store.conn, 1)
    budget = dbot.x.budget("liking_users")
    assert digest is not None and budget is not None
    assert digest.state == "active" and digest.failures == 0
    assert digest.next_run_at == pytest.approx(budget.reset_at.timestamp() + 5)
    # Not retried in a loop: until the reset the digest is not even read.
    sent = len(x.requests)
    clock.advance(minutes=5)
    assert (await scheduler_of(dbot).tick()).rows_read == 0
    assert len(x.requests) == sent
    clock.advance(minutes=11)
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "baseline"
    assert len(posted(emulator)) == 1


async def test_digests_leave_the_last_quarter_of_the_budget_to_moderators(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox, clock: SettableClock
) -> None:
    # Moderators' lookups leave 1 of 4 requests: that one is theirs, not the digests'.
    for post in (sandbox.POST_100_LIKES, sandbox.POST_MANY_LIKES, sandbox.POST_NO_LIKES):
        await dbot.x.liking_users(post)
    await add_digest(driver)
    sent = len(x.requests_to("/liking_users"))
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "rate_limited" and report.x_requests == 0
    assert len(x.requests_to("/liking_users")) == sent
    # /digest run is a moderator's command: it may spend the reserve the scheduled run left.
    run = await driver.slash("digest run", digest=1)
    assert "Posted the baseline" in run.content
    assert len(x.requests_to("/liking_users")) == sent + 1
    # Now the window is spent for everyone: /digest run waits too.
    clock.advance(minutes=2)
    x.add_likers(POST, 1)
    again = await driver.slash("digest run", digest=1)
    assert "rate" in again.content


async def test_a_streak_of_x_5xx_backs_off_then_disables_with_the_reason(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add_digest(driver)
    scheduler = scheduler_of(dbot)
    # A short deadline: the client gives up after its first retry instead of waiting seconds.
    scheduler.x_deadline = 0.1
    x.faults.server_error_ratio = 1.0
    delays = []
    for failure in range(1, MAX_FAILURES + 1):
        report = await scheduler.tick()
        digest = await store.get_digest(dbot.store.conn, 1)
        assert digest is not None and digest.failures == failure
        if failure < MAX_FAILURES:
            assert report.outcomes[1].status == "failed" and digest.state == "active"
            if failure == 1:
                listing = (await driver.slash("digest list")).embed["description"]
                assert "active (retrying after 1 failed run: X had server errors)" in listing
            assert digest.next_run_at is not None
            delays.append(digest.next_run_at - clock.timestamp())
            clock.advance(seconds=delays[-1])
    # 5 minutes, doubling after each failure (a 6-hour digest's cap is 6 hours: not reached in 7 waits).
    assert delays == pytest.approx([300, 600, 1200, 2400, 4800, 9600, 19200])
    assert report.outcomes[1].status == "disabled"
    assert digest is not None and digest.state == "disabled" and digest.next_run_at is None
    # X's own text (HTTP 503 on liking_users) stays in the run log, not in what moderators read.
    assert "503" in ((await store.run_log(dbot.store.conn, 1))[0].error or "")
    listing = (await driver.slash("digest list")).embed["description"]
    # The failed runs were runs: the last one shows.
    assert f"last run <t:{int(clock.timestamp())}:R> · next run never" in listing
    assert listing.endswith(
        "**disabled** after 8 failed runs in a row (X had server errors). "
        "When X is back: `/digest resume digest:1`"
    )
    run = await driver.slash("digest run", digest=1)
    assert run.content == (
        "Digest #1 is disabled after 8 failed runs in a row (X had server errors). "
        "When X is back: `/digest resume digest:1`."
    )
    assert posted(emulator) == []


@pytest.mark.sqlite_only  # reads SQLite's EXPLAIN QUERY PLAN
async def test_a_thousand_digests_of_which_ten_are_due_read_ten_rows(
    emulator: DiscordEmulator, x: XSandbox, clock: SettableClock, tmp_path: Path
) -> None:
    # One digest per channel and subject: the ten due ones in ten channels, the others in channels never read.
    due_channels = [emulator.add_channel(f"digests-{n}") for n in range(10)]
    async with digest_bot(emulator, x, tmp_path / "likelens.db", clock) as dbot:
        conn = dbot.store.conn
        now = clock.timestamp()
        guild_id = int(emulator.guild.id)
        await conn.executemany(
            "INSERT INTO digests (guild_id, channel_id, creator_id, subject_kind, subject_id, every_seconds, "
            "created_at, next_run_at) VALUES (?, ?, 1, 'post', ?, 3600, ?, ?)",
            [(guild_id, int(due_channels[n].id) if n < 10 else n, POST, now,
              now - 60 if n < 10 else now + 3600 + n) for n in range(1000)],
        )
        await conn.commit()
        plan = await store.query_plan(conn, store.DUE_QUERY, (now, 200))
        assert any("USING INDEX digests_next_run_at" in line for line in plan), plan
        assert not any(line.startswith("SCAN digests") for line in plan), plan
        report = await scheduler_of(dbot).tick()
        assert report.rows_read == 10 and len(report.outcomes) == 10
        # Ten digests of one subject: one X request for them all.
        assert len(x.requests_to("/liking_users")) == 1
        assert sum(len(emulator.messages_in(channel)) for channel in due_channels) == 10


async def test_browse_leaves_the_moderators_quarter_to_moderators(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add_digest(driver)
    await driver.slash("digest run", digest=1)
    x.add_likers(POST, 2)
    # Past the X client's one-minute cache, well within X's 15-minute window.
    clock.advance(minutes=2)
    await driver.slash("digest run", digest=1)
    message = posted(emulator)[-1]
    custom_id = f"ll:db:1:p:{POST}"
    assert message.buttons[custom_id]["label"] == "Browse"
    # 3 of the window's 4 requests are spent: the last one is the moderators'.
    await dbot.x.liking_users(sandbox.POST_100_LIKES)
    # Past the cache again: a Browse would have to ask X.
    clock.advance(minutes=2)
    sent = len(x.requests_to("/liking_users"))
    member = emulator.member("reader", discord.Permissions(view_channel=True))
    refused = await driver.click(message, custom_id, member=member)
    assert refused.ephemeral and not refused.embeds
    budget = dbot.x.budget("liking_users")
    assert budget is not None
    assert f"<t:{int(budget.reset_at.timestamp())}:R>" in refused.content
    assert len(x.requests_to("/liking_users")) == sent
    # A moderator (the /likes permission) may spend it.
    opened = await driver.click(message, custom_id)
    assert opened.ephemeral and opened.embeds
    assert len(x.requests_to("/liking_users")) == sent + 1


async def test_x_error_text_in_a_digest_reason_is_shown_literally_in_digest_list(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox
) -> None:
    await add_digest(driver)
    # X's 400 quotes text with markdown in it (the client has scrubbed the secrets out already).
    x.faults.echo_authorization = True
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "failed"
    x.faults.echo_authorization = False
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.reason is not None
    listing = (await driver.slash("digest list")).embed["description"]
    assert "oauth_" not in listing
    assert "oauth\\_" in listing
