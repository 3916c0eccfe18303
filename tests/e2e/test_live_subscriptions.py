"""Live digests' like.create subscriptions at the sandbox: created with the first live digest of an
account and direction, never twice, deleted with the last one, reconciled at start (an orphan of
ours deleted, another tag's left alone); what is missing or refused is said in one sentence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from bot import LikesBot
from store import digests as store
from tests.accounts_support import accounts_bot, connect_sandbox_account
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, digest_bot, posted, sandbox_on
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

POST = sandbox.POST_7_LIKES
POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{POST}"

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


def at_x(x: XSandbox) -> list[tuple[str, str | None, str | None]]:
    return sorted((s.user_id, s.direction, s.tag) for s in x.subscriptions.by_id.values())


async def add_live(driver: InteractionDriver, subject: str) -> str:
    result = await driver.slash("digest add", subject=subject, channel="digests", every="live")
    assert result.ephemeral
    return result.content


async def test_one_subscription_per_account_and_direction_from_first_to_last_live_digest(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox, emulator: DiscordEmulator,
) -> None:
    tag = f"likelens:{dbot.application_id}"
    assert "Live digest #1 created" in await add_live(driver, POST_URL)
    assert at_x(x) == [(sandbox.OWNER_ID, "inbound", tag)]
    assert "tracking started" in await add_live(driver, "recent")
    # The second inbound digest of the same account creates none.
    assert at_x(x) == [(sandbox.OWNER_ID, "inbound", tag)]
    assert len(x.requests_to("/2/activity/subscriptions")) == 1
    await add_live(driver, "liked")
    assert at_x(x) == [(sandbox.OWNER_ID, "inbound", tag), (sandbox.OWNER_ID, "outbound", tag)]
    assert [m.data["content"].startswith("Tracking started") for m in posted(emulator)] == [True] * 3
    # Removing the post digest keeps inbound (the recent digest needs it); removing recent deletes it.
    assert "removed" in (await driver.slash("digest remove", digest=1)).content
    assert at_x(x) == [(sandbox.OWNER_ID, "inbound", tag), (sandbox.OWNER_ID, "outbound", tag)]
    await driver.slash("digest remove", digest=2)
    assert at_x(x) == [(sandbox.OWNER_ID, "outbound", tag)]
    await driver.slash("digest remove", digest=3)
    assert at_x(x) == []


async def test_a_paused_live_digest_keeps_its_subscription(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox,
) -> None:
    await add_live(driver, POST_URL)
    await driver.slash("digest pause", digest=1)
    assert len(at_x(x)) == 1
    assert "resumed" in (await driver.slash("digest resume", digest=1)).content
    found = await store.get_digest(dbot.store.conn, 1)
    assert found is not None and found.next_run_at is None  # never scheduled: the stream feeds it


async def test_reconcile_at_start_deletes_our_orphan_and_leaves_another_tag_alone(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        tag = f"likelens:{first.application_id}"
        await add_live(InteractionDriver(emulator), POST_URL)
    now = datetime.now(UTC)
    # Ours, no longer needed (an account whose digests went while the bot was down), and another app's.
    x.subscriptions.add("like.create", "1600000000000000099", "inbound", tag, now)
    x.subscriptions.add("like.create", "1600000000000000098", "inbound", "someone-else", now)
    # And the one our live digest needs vanished at X.
    for subscription in list(x.subscriptions.by_id.values()):
        if subscription.user_id == sandbox.OWNER_ID:
            del x.subscriptions.by_id[subscription.subscription_id]
    async with digest_bot(emulator, x, database, clock):
        assert at_x(x) == [(sandbox.OWNER_ID, "inbound", tag),
                           ("1600000000000000098", "inbound", "someone-else")]


async def test_without_a_bearer_token_the_command_says_what_is_missing(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    settings = emulator_settings(emulator, x.base_url, tmp_path / "likelens.db", x_bearer_token=None)
    async with running_bot(emulator, settings, clock=clock) as bot:
        text = await add_live(InteractionDriver(emulator), POST_URL)
        assert "X_BEARER_TOKEN" in text
        assert await store.guild_digests(bot.store.conn, int(emulator.guild.id)) == []
    assert x.requests_to("/2/activity") == []


async def test_the_subscription_cap_is_a_sentence_and_no_digest_is_made(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox, emulator: DiscordEmulator,
) -> None:
    x.subscriptions.cap = 0
    text = await add_live(driver, POST_URL)
    assert "cannot start this live digest" in text and "1,500" in text
    assert await store.guild_digests(dbot.store.conn, int(emulator.guild.id)) == []
    assert posted(emulator) == []


async def test_a_connected_accounts_subscription_is_made_with_its_token_and_goes_when_it_disconnects(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as bot:
        serving = await connect_sandbox_account(bot, x, emulator.guild.id, handle="maple_guild")
        await add_live(InteractionDriver(emulator), "recent")
        tag = f"likelens:{bot.application_id}"
        assert at_x(x) == [(serving.x_user_id, "inbound", tag)]
        await bot.accounts.disconnect(int(emulator.guild.id))
        feed = getattr(bot.get_cog("DigestsCog"), "live", None)
        assert feed is not None
        await feed.released()  # what cogs/x.py calls after /x disconnect
        assert at_x(x) == []


async def test_digest_run_of_a_live_digest_reads_nothing_and_schedules_nothing(
    dbot: LikesBot, driver: InteractionDriver, x: XSandbox,
) -> None:
    await add_live(driver, POST_URL)
    reads = len(x.requests_to("/liking_users"))
    text = (await driver.slash("digest run", digest=1)).content
    assert "live" in text
    assert len(x.requests_to("/liking_users")) == reads
    found = await store.get_digest(dbot.store.conn, 1)
    assert found is not None and found.next_run_at is None


async def test_x_disconnect_deletes_the_accounts_live_subscription(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as bot:
        serving = await connect_sandbox_account(bot, x, emulator.guild.id, handle="maple_guild")
        driver = InteractionDriver(emulator)
        await add_live(driver, "recent")
        assert at_x(x) == [(serving.x_user_id, "inbound", f"likelens:{bot.application_id}")]
        result = await driver.slash("x disconnect")
        assert result.content.startswith("Disconnected @maple\\_guild from this server")
        # Not left for the next start's reconcile: X stops sending that account's likes at once.
        assert at_x(x) == []
