"""Digests and their channels and servers: permissions, deleted channels, servers left or unavailable."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    MESSAGES,
    POST,
    SettableClock,
    add,
    bot_may,
    digest_bot,
    eventually,
    posted,
    scheduler_of,
    until,
)
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

# The digest tests' shared fixtures and names (digest_support.x is the sandbox dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


async def test_add_refuses_a_channel_where_the_bot_cannot_embed(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    emulator.add_channel("no-embeds", bot_deny=discord.Permissions(embed_links=True))
    async with digest_bot(emulator, x, tmp_path / "db.sqlite", clock) as running:
        answer = await add(InteractionDriver(emulator), channel="no-embeds")
        assert "cannot post digests" in answer and "Embed Links" in answer
        assert await store.guild_digests(running.store.conn, int(emulator.guild.id)) == []


async def test_missing_permission_pauses_and_tells_the_creator_by_dm(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    await emulator.set_bot_deny(emulator.channel("digests"), discord.Permissions(embed_links=True))
    await until(lambda: not bot_may(dbot, emulator, "digests", "embed_links"), "CHANNEL_UPDATE")
    clock.advance(hours=6)
    before = len(x.requests)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "paused"
    # Checked before sending: no 403 collected, no X request spent.
    assert all(r.status != 403 for r in emulator.requests_to(*MESSAGES))
    assert len(x.requests) == before
    (dm,) = [m for c in emulator.dm_channels.values() for m in emulator.messages_in(c)]
    assert "digest #1 is paused" in dm.content and "Embed Links" in dm.content
    listing = await driver.slash("digest list")
    assert "**paused**" in listing.embed["description"] and "Embed Links" in listing.embed["description"]
    assert "⚠️" not in listing.embed["description"]
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).rows_read == 0


async def test_a_creator_with_closed_dms_is_told_by_the_next_digest_list_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    emulator.closed_dms.add(driver.moderator.user.id)
    await emulator.set_bot_deny(emulator.channel("digests"), discord.Permissions(send_messages=True))
    await until(lambda: not bot_may(dbot, emulator, "digests", "send_messages"), "CHANNEL_UPDATE")
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "paused"
    first = await driver.slash("digest list")
    assert "⚠️ Your LikeLens digest #1 is paused" in first.embed["description"]
    second = await driver.slash("digest list")
    assert "⚠️" not in second.embed["description"] and "**paused**" in second.embed["description"]


async def test_a_deleted_channel_disables_the_digest_and_keeps_it(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    channel = emulator.channel("digests")
    await emulator.delete_channel(channel)
    await until(lambda: dbot.get_channel(int(channel.id)) is None, "CHANNEL_DELETE")
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "disabled"
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.channel_id == int(channel.id)
    assert digest.subject_id == POST and "channel was deleted" in (digest.reason or "")
    listing = await driver.slash("digest list")
    assert "**disabled**: its channel was deleted" in listing.embed["description"]


async def test_a_server_that_removed_the_bot_disables_its_digests_with_the_reason(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    sent = len(x.requests)
    guild_id = int(emulator.guild.id)
    await emulator.remove_bot_from(emulator.guild)
    await until(lambda: dbot.get_guild(guild_id) is None, "the bot to forget the guild")

    async def disabled() -> bool:
        found = await store.get_digest(dbot.store.conn, 1)
        return found is not None and found.state == "disabled"

    # on_guild_remove disables it at once, without waiting for a tick.
    await eventually(disabled, "the digest to be disabled")
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.next_run_at is None
    assert digest.reason is not None and "no longer in this server" in digest.reason
    clock.advance(hours=1)
    assert (await scheduler_of(dbot).tick()).rows_read == 0
    assert len(x.requests) == sent


async def test_a_digest_of_a_server_left_while_the_bot_was_offline_is_disabled_by_the_tick(
    dbot: LikesBot, x: XSandbox, clock: SettableClock
) -> None:
    # After READY, a guild neither cached nor unavailable is one the bot is no longer in.
    await store.add_digest(dbot.store.conn, guild_id=1234567890123, channel_id=1, creator_id=1,
                           subject_kind="post", subject_id=POST, every_seconds=3600, now=clock.timestamp())
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "disabled"
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.reason is not None
    assert "no longer in this server" in digest.reason
    assert len(x.requests) == 0


async def test_an_unavailable_server_is_retried_later_and_less_often_while_it_lasts(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    guild_id = int(emulator.guild.id)
    await emulator.guild_outage(emulator.guild)
    await until(lambda: getattr(dbot.get_guild(guild_id), "unavailable", False), "the outage")
    scheduler = scheduler_of(dbot)
    delays = []
    for _ in range(4):
        assert (await scheduler.tick()).outcomes[1].status == "skipped"
        digest = await store.get_digest(dbot.store.conn, 1)
        assert digest is not None and digest.state == "active" and digest.next_run_at is not None
        delays.append(digest.next_run_at - clock.timestamp())
        clock.advance(seconds=delays[-1])
    assert delays[0] == pytest.approx(300) and delays[-1] > delays[0]
    assert delays == sorted(delays)
    assert posted(emulator) == []
