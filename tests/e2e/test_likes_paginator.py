"""The paginator's rules end to end: owner-only, one-server, double clicks, restarts, expiry, lost state."""

from __future__ import annotations

import gc
import time
import weakref
from datetime import UTC, datetime, timedelta

import discord

from bot import LikesBot
from cogs.likes_browse import live_pagers
from config import Settings
from tests.botharness import InteractionDriver, running_bot
from tests.e2e import likes_support
from tests.e2e.likes_support import assert_no_pings, footer, next_id, on_page_two_then_stopped, previous_id
from tests.emulator import DiscordEmulator
from tests.emulator.state import Member
from ui.paginator import NOT_YOURS, OTHER_SERVER, STATE_GONE, PageButton
from xapi import sandbox
from xapi.sandbox import XSandbox


class SteppedClock:
    """A clock the test moves forward by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


settings = likes_support.settings


async def test_a_click_by_someone_else_is_refused_and_changes_nothing(
    driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES, public=True)
    bystander = emulator.member("bystander")

    refused = await driver.click(result, next_id(result), member=bystander)

    assert refused.callback_type == 4 and refused.ephemeral
    assert refused.content == NOT_YOURS
    assert footer(result.embed).startswith("Page 1 of 10")
    assert result.embed["fields"][0]["name"].startswith("1. ")
    assert len(x_sandbox.requests_to("liking_users")) == 1
    assert_no_pings(refused)


async def test_a_double_click_on_next_moves_one_page(
    driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    await driver.settle()
    button = next_id(result)
    first = emulator.build_click(result.response, button, member=driver.moderator)
    second = emulator.build_click(result.response, button, member=driver.moderator)

    await emulator.send_interaction(first)
    await emulator.send_interaction(second)
    await emulator.wait_until(lambda: first.acknowledged and second.acknowledged, what="both clicks answered")
    await driver.settle()

    # The first click answers with the page (7), or is deferred (6); the second waits for it (6).
    assert first.callback_type in (6, 7) and second.callback_type in (6, 7)
    assert footer(result.embed).startswith("Page 2 of 10")
    assert result.embed["fields"][0]["name"].startswith("11. ")


async def test_buttons_keep_working_after_a_restart(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    driver = InteractionDriver(emulator)
    result = await on_page_two_then_stopped(emulator, settings, driver)
    message = result.response

    async with running_bot(emulator, settings):
        after = await driver.click(message, next_id(result))

        assert after.callback_type == 6
        assert footer(after.embed).startswith("Page 3 of 10")
        assert after.embed["fields"][0]["name"].startswith("21. ")
        back = await driver.click(after, previous_id(after))
        assert back.embed["fields"][0]["name"].startswith("11. ")
    # One request before the restart, one to rebuild the page source after it.
    assert len(x_sandbox.requests_to("liking_users")) == 2


async def test_a_click_after_the_caches_expired_refetches_and_shows_the_right_page(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    clock = SteppedClock()
    driver = InteractionDriver(emulator)
    async with running_bot(emulator, settings, clock=clock):
        result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        result = await driver.click(result, next_id(result))
        clock.advance(20 * 60)  # past the paginator's idle limit and the X client's cache TTL

        later = await driver.click(result, next_id(result))

        assert footer(later.embed).startswith("Page 3 of 10")
        assert later.embed["fields"][0]["name"].startswith("21. ")
    assert len(x_sandbox.requests_to("liking_users")) == 2


async def test_a_click_after_the_in_memory_pagers_were_evicted_rebuilds_from_the_store(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes liked")
    for _ in range(12):
        result = await driver.click(result, next_id(result))
    live_pagers(bot).clear()
    hits_before = bot.x.stats.cache_hits

    result = await driver.click(result, next_id(result))

    assert footer(result.embed).startswith("Page 14")
    assert result.embed["fields"][0]["name"].startswith("131. ")
    # The rebuilt source needs only API page 2, which the X client still holds (fresh): no request.
    assert bot.x.stats.cache_hits == hits_before + 1
    assert len(x_sandbox.requests_to("liked_tweets")) == 2


async def test_a_click_whose_state_is_gone_gets_a_clear_answer(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    await bot.store.conn.execute("DELETE FROM browse_states")
    await bot.store.conn.commit()
    live_pagers(bot).clear()

    gone = await driver.click(result, next_id(result))

    assert gone.callback_type == 4 and gone.ephemeral
    assert gone.content == STATE_GONE
    assert footer(result.embed).startswith("Page 1 of 10")


async def test_a_paginator_saved_before_servers_were_recorded_says_it_expired(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    """Its server is unknown, so it may not be shown anywhere: its owner runs the command again."""
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    await bot.store.conn.execute("UPDATE browse_states SET guild_id = NULL")
    await bot.store.conn.commit()
    live_pagers(bot).clear()

    gone = await driver.click(result, next_id(result))

    assert gone.callback_type == 4 and gone.ephemeral
    assert gone.content == STATE_GONE
    assert footer(result.embed).startswith("Page 1 of 10")


async def test_an_evicted_or_idle_source_is_freed_at_once(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    """Dropping a live source frees its cached pages by reference counting alone: no view, task or cycle
    holds it (with the cyclic collector off, a cycle would keep 100 likers in memory until a full GC)."""
    pagers = live_pagers(bot)
    pagers.max_size = 1
    gc.disable()
    try:
        first = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        first_id = next_id(first).split(":")[2]
        evicted = weakref.ref(pagers.entry(first_id, time.time()).source)
        assert evicted() is not None

        second = await driver.slash("likes post", post=sandbox.POST_MANY_LIKES)
        second_id = next_id(second).split(":")[2]
        assert len(pagers) == 1 and evicted() is None

        idle = weakref.ref(pagers.entry(second_id, time.time()).source)
        assert idle() is not None
        pagers.entry(second_id, time.time() + pagers.idle_seconds + 1)
        assert idle() is None
    finally:
        gc.enable()
    # And the buttons still work: the next click rebuilds the source from the store.
    page2 = await driver.click(first, next_id(first))
    assert page2.embed["fields"][0]["name"].startswith("11. ")


async def test_paginator_messages_leave_no_view_behind_in_the_bot(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    """Every button is a DynamicItem (matched by its custom_id), so discord.py keeps no View per message:
    a bot that shows thousands of paginators does not grow with them."""
    for post in (sandbox.POST_100_LIKES, sandbox.POST_MANY_LIKES):
        result = await driver.slash("likes post", post=post)
        await driver.click(result, next_id(result))
    assert [v for v in bot.persistent_views
            if any(str(getattr(c, "custom_id", "")).startswith("ll:") for c in v.walk_children())] == []


async def test_a_state_id_crafted_into_another_servers_button_is_refused_and_shows_nothing_of_it(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    """The owner of a paginator in server A clicks `ll:pg:<A's state>:2` on a message in server B."""
    other = emulator.add_guild("Another server")
    driver = InteractionDriver(emulator)
    # The same person is a moderator in both servers, so only the server tells the clicks apart.
    other.members.append(Member(driver.moderator.user, permissions=driver.moderator.permissions))
    async with running_bot(emulator, settings) as bot:
        result = await driver.slash("likes post", post=sandbox.POST_100_LIKES, public=True)
        state_id = next_id(result).split(":")[2]
        channel = bot.get_channel(int(emulator.channel("general", other).id))
        assert isinstance(channel, discord.TextChannel)
        view = discord.ui.View(timeout=None).add_item(PageButton(state_id, 2))
        view.add_item(PageButton("zzzzzzzzzz", 1, label="Unknown"))
        sent = await channel.send("Nothing here yet", view=view,
                                  allowed_mentions=discord.AllowedMentions.none())
        crafted = emulator.messages[str(sent.id)]

        live_before = len(live_pagers(bot))
        refused = await driver.click(crafted, f"ll:pg:{state_id}:2")
        unknown = await driver.click(crafted, "ll:pg:zzzzzzzzzz:1")

        # Refused clicks take no room among the live paginators (crafted ids cannot evict real ones).
        assert len(live_pagers(bot)) == live_before
        assert unknown.content == STATE_GONE
        assert refused.callback_type == 4 and refused.ephemeral
        assert refused.content == OTHER_SERVER
        assert refused.embeds == []
        assert crafted.content == "Nothing here yet" and crafted.embeds == []
        assert_no_pings(refused)
        # And A's own paginator still turns, in A.
        page2 = await driver.click(result, next_id(result))
        assert page2.embed["fields"][0]["name"].startswith("11. ")
    assert len(x_sandbox.requests_to("liking_users")) == 1
