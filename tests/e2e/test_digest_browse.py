"""The Browse button of a digest message works only while its digest does, in its own server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import pytest_asyncio
from discord import app_commands

from bot import LikesBot
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, digest_bot, posted, sandbox_on, scheduler_of
from tests.emulator import DiscordEmulator, Message
from xapi import sandbox
from xapi.sandbox import XSandbox

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver

POST = sandbox.POST_7_LIKES
BROWSE = f"ll:db:1:p:{POST}"
GONE = "This digest no longer exists in this server, so its Browse button does nothing."
READER = discord.Permissions(view_channel=True)


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock, rate_limits={"liking_users": 4}) as server:
        yield server


async def digest_message(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> Message:
    """Digest #1 of POST, with one posted run (and its Browse button)."""
    await driver.slash("digest add", subject=POST, channel="digests", every="6h")
    await scheduler_of(bot).tick()
    x.add_likers(POST, 2)
    clock.advance(hours=6)
    await scheduler_of(bot).tick()
    message = posted(emulator)[-1]
    assert BROWSE in message.buttons
    return message


async def test_browse_of_a_removed_digest_says_it_is_gone_without_asking_x(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    message = await digest_message(dbot, driver, emulator, x, clock)
    await driver.slash("digest remove", digest=1)
    clock.advance(minutes=2)
    asked = len(x.requests)
    clicked = await driver.click(message, BROWSE, member=emulator.member("reader", READER))
    assert clicked.ephemeral and not clicked.embeds
    assert clicked.content == GONE
    assert len(x.requests) == asked


async def test_browse_of_a_paused_digest_says_so_without_asking_x(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    message = await digest_message(dbot, driver, emulator, x, clock)
    await driver.slash("digest pause", digest=1)
    clock.advance(minutes=2)
    asked = len(x.requests)
    clicked = await driver.click(message, BROWSE)
    assert clicked.ephemeral and not clicked.embeds
    assert clicked.content == "Digest #1 is paused: its Browse button works again once it is resumed."
    assert len(x.requests) == asked


async def test_a_browse_button_crafted_in_another_server_is_refused_without_asking_x(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    other = emulator.add_guild("Other server")
    async with digest_bot(emulator, x, tmp_path / "likelens.db", clock) as running:
        driver = InteractionDriver(emulator)
        message = await digest_message(running, driver, emulator, x, clock)
        # The same button on a message of the other server (a crafted custom_id).
        crafted = Message({**message.data, "channel_id": emulator.channel("digests", other).id,
                           "guild_id": other.id})
        clock.advance(minutes=2)
        asked = len(x.requests)
        owner = next(m for m in other.members if m.user.id == emulator.owner.id)
        clicked = await driver.click(crafted, BROWSE, member=owner)
        assert clicked.ephemeral and not clicked.embeds
        assert clicked.content == GONE
        assert len(x.requests) == asked
        # In its own server it still works.
        opened = await driver.click(message, BROWSE)
        assert opened.ephemeral and opened.embeds


async def test_browse_of_a_digest_made_for_another_x_account_says_it_is_gone(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    message = await digest_message(dbot, driver, emulator, x, clock)
    # As if the digest had been added while another X account served this server.
    await dbot.store.conn.execute("UPDATE digests SET account_id = ? WHERE id = 1", (sandbox.USER_OTHER_ID,))
    await dbot.store.conn.commit()
    clicked = await driver.click(message, BROWSE)
    assert clicked.ephemeral and not clicked.embeds
    assert clicked.content == (
        "Digest #1 follows another X account than the one this server uses now, so its Browse button "
        "does nothing: `/digest remove` it and add it again."
    )
    assert not x.requests_to("/liking_users")[2:]


@pytest.mark.parametrize(("member_perms", "moderator"), [
    (discord.Permissions(view_channel=True, manage_guild=True), True),
    (discord.Permissions(view_channel=True, manage_messages=True), False),
    (discord.Permissions(view_channel=True, administrator=True), True),
])
async def test_who_may_spend_the_moderators_quarter_follows_the_likes_commands_permission(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
    *, member_perms: discord.Permissions, moderator: bool,
) -> None:
    # The operator restricted /likes to Manage Server (the permission the bot's command tree declares).
    likes = dbot.tree.get_command("likes")
    assert isinstance(likes, app_commands.Group)
    likes.default_permissions = discord.Permissions(manage_guild=True)
    message = await digest_message(dbot, driver, emulator, x, clock)
    # 3 of the window's 4 liking_users requests are spent (the digest's run and these two): the last
    # one is the moderators'.
    await dbot.x.liking_users(sandbox.POST_100_LIKES)
    await dbot.x.liking_users(sandbox.POST_MANY_LIKES)
    budget = dbot.x.budget("liking_users")
    assert budget is not None and (budget.limit, budget.remaining) == (4, 1)
    clock.advance(minutes=2)
    sent, asked = len(x.requests_to("/liking_users")), len(x.requests)
    clicked = await driver.click(message, BROWSE, member=emulator.member("clicker", member_perms))
    assert clicked.ephemeral
    assert bool(clicked.embeds) is moderator
    assert len(x.requests_to("/liking_users")) == sent + (1 if moderator else 0)
    if not moderator:
        assert "kept for moderators" in clicked.content
        assert len(x.requests) == asked
