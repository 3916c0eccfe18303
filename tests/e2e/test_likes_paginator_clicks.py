"""How the paginator answers its clicks end to end: from memory, in click order, and after restarts."""

from __future__ import annotations

import contextlib

from bot import LikesBot
from cogs.likes_browse import likes_browser
from config import Settings
from tests.botharness import InteractionDriver, InteractionResult, running_bot
from tests.e2e import likes_support
from tests.e2e.likes_support import CALLBACK, footer, next_id, on_page_two_then_stopped, previous_id
from tests.emulator import DiscordEmulator
from tests.emulator.server import WEBHOOK_MESSAGE
from tests.emulator.state import Interaction, Message
from tests.sqlite_only import sqlite_raw
from xapi import sandbox
from xapi.sandbox import XSandbox

settings = likes_support.settings


async def test_a_click_on_a_live_paginator_answers_from_memory_and_saves_its_position_after(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    result = await driver.click(result, next_id(result))
    await driver.settle()
    await likes_browser(bot).flush()  # the previous click's position is written: start from a quiet store
    statements: list[str] = []
    await sqlite_raw(bot.store.conn).set_trace_callback(statements.append)
    try:
        # Discord is slow to take the click's answer: nothing may touch the store until it has it.
        release = emulator.hold_next("POST", CALLBACK)
        click = emulator.build_click(result.response, next_id(result), member=driver.moderator)
        await emulator.send_interaction(click)
        await emulator.wait_until(lambda: any(r.route == CALLBACK and click.token in r.path
                                              for r in emulator.requests), what="the click's answer")
        assert statements == []  # nothing read before answering, nothing written yet
        release.set()
        await driver.settle()
        await likes_browser(bot).flush()  # waits for the position being written, if it is not yet
    finally:
        await sqlite_raw(bot.store.conn).set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3: None removes it
    assert footer(result.response.embeds[0]).startswith("Page 3 of 10")
    assert [s.split()[0] for s in statements] == ["BEGIN", "UPDATE", "COMMIT"], statements


async def test_a_restart_that_lost_the_last_position_still_shows_the_clicked_page(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    """A restart between a click's answer and its saved position: the store holds the position before."""
    driver = InteractionDriver(emulator)
    async with running_bot(emulator, settings) as bot:
        result = await driver.slash("likes liked")
        async with bot.store.conn.execute("SELECT state FROM browse_states") as cursor:
            (first_position,) = await cursor.fetchone() or ("",)
        for _ in range(10):
            result = await driver.click(result, next_id(result))
        assert footer(result.embed).startswith("Page 11")
    async with running_bot(emulator, settings) as bot:
        await bot.store.conn.execute("UPDATE browse_states SET state = ?", (first_position,))
        await bot.store.conn.commit()

        after = await driver.click(result.response, next_id(result))
        assert footer(after.embed).startswith("Page 12")
        assert after.embed["fields"][0]["name"].startswith("111. ")
        back = await driver.click(after, previous_id(after))
        assert back.embed["fields"][0]["name"].startswith("101. ")


def edited_footers(emulator: DiscordEmulator, *results: InteractionResult) -> list[str]:
    """The footers the bot's edits of the clicked message carried, in the order Discord received them
    (an edit is a click's own response, type 7, or a PATCH after a deferred click)."""
    tokens = [r.interaction.token for r in results]
    footers = []
    for request in emulator.requests:
        if not isinstance(request.json, dict) or not any(t in request.path for t in tokens):
            continue
        if request.method == "PATCH":
            footers.append(request.json["embeds"][0]["footer"]["text"])
        elif request.route == CALLBACK and request.json.get("type") == 7:
            footers.append(request.json["data"]["embeds"][0]["footer"]["text"])
    return [str(text).split(" · ")[0] for text in footers]


async def click_during_the_first_fetch(
    emulator: DiscordEmulator, driver: InteractionDriver, message: Message, first_id: str, second_id: str,
) -> tuple[InteractionResult, InteractionResult]:
    """Click first_id, then second_id as soon as the first is deferred (X slow: it is still fetching)."""
    await driver.settle()
    first = emulator.build_click(message, first_id, member=driver.moderator)
    second = emulator.build_click(message, second_id, member=driver.moderator)
    await emulator.send_interaction(first)
    await emulator.wait_until(lambda: first.acknowledged, what="the first click deferred")
    await emulator.send_interaction(second)
    await emulator.wait_until(lambda: first.acknowledged and second.acknowledged, what="both clicks answered")
    await driver.settle()
    return InteractionResult(first, emulator), InteractionResult(second, emulator)


async def test_two_clicks_at_once_after_a_restart_rebuild_the_source_once(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    """Both the message's lock and BrowseSource's own lock keep this true (it fails with neither)."""
    driver = InteractionDriver(emulator)
    result = await on_page_two_then_stopped(emulator, settings, driver)
    message = result.response
    x_sandbox.faults.latency_seconds = 0.5

    async with running_bot(emulator, settings) as bot:
        next_click, previous_click = await click_during_the_first_fetch(
            emulator, driver, message, next_id(result), previous_id(result))

        # The second click waited for the first one's rebuilt source: X was asked once, not joined.
        assert len(x_sandbox.requests_to("liking_users")) == 2  # one before the restart, one after
        assert bot.x.stats.requests_sent == 1  # the header comes from the store: only the likers
        assert bot.x.stats.singleflight_joins == 0 and bot.x.stats.cache_hits == 0
    assert edited_footers(emulator, next_click, previous_click) == ["Page 3 of 10", "Page 1 of 10"]
    assert footer(message.embed).startswith("Page 1 of 10")


async def test_fast_clicks_edit_in_click_order_and_end_on_the_last_clicked_page(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    """The per-message lock: a click's edit waits for the previous click's edit to be carried out."""
    result = await driver.slash("likes liked")
    for _ in range(9):
        result = await driver.click(result, next_id(result))
    assert footer(result.embed).startswith("Page 10")
    await driver.settle()
    first = emulator.build_click(result.response, next_id(result), member=driver.moderator)
    second = emulator.build_click(result.response, previous_id(result), member=driver.moderator)
    # Discord is slow to carry out the first click's edit.
    release = emulator.hold_next("PATCH", WEBHOOK_MESSAGE)

    await emulator.send_interaction(first)
    await emulator.wait_until(lambda: edit_arrived(emulator, first), what="the first click's edit")
    await emulator.send_interaction(second)
    await emulator.wait_until(lambda: second.acknowledged, what="the second click deferred")
    # Room for the second click's edit to overtake the held one, as it would without the lock.
    with contextlib.suppress(AssertionError):
        await emulator.wait_until(lambda: edit_arrived(emulator, second), within=0.5)
    release.set()
    await driver.settle()

    assert footer(result.embed).startswith("Page 9")
    assert result.embed["fields"][0]["name"].startswith("81. ")
    clicks = InteractionResult(first, emulator), InteractionResult(second, emulator)
    assert edited_footers(emulator, *clicks) == ["Page 11", "Page 9"]


async def test_a_click_while_the_previous_answer_is_in_flight_waits_for_it_on_cached_pages(
    driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    """The first click answers in its own response (type 7); the second is deferred and edits after it."""
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    result = await driver.click(result, next_id(result))
    await driver.settle()
    first = emulator.build_click(result.response, next_id(result), member=driver.moderator)
    second = emulator.build_click(result.response, previous_id(result), member=driver.moderator)
    release = emulator.hold_next("POST", CALLBACK)

    await emulator.send_interaction(first)
    await emulator.wait_until(lambda: any(first.token in r.path for r in emulator.requests),
                              what="the first click's answer")
    await emulator.send_interaction(second)
    await emulator.wait_until(lambda: second.acknowledged, what="the second click deferred")
    with contextlib.suppress(AssertionError):
        await emulator.wait_until(lambda: edit_arrived(emulator, second), within=0.5)
    release.set()
    await driver.settle()

    assert (first.callback_type, second.callback_type) == (7, 6)
    clicks = InteractionResult(first, emulator), InteractionResult(second, emulator)
    assert edited_footers(emulator, *clicks) == ["Page 3 of 10", "Page 1 of 10"]
    assert footer(result.embed).startswith("Page 1 of 10")


def edit_arrived(emulator: DiscordEmulator, interaction: Interaction) -> bool:
    return any(r.method == "PATCH" and interaction.token in r.path for r in emulator.requests)
