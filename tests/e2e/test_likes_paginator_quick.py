"""Clicks on a live paginator whose page is held, answered before discord.py builds the click
(cogs/quick_clicks.py): the page the user sees, the same answer discord.py would send, and the
right page after the page list grew, after a restart, under a rate limit and when Discord refuses."""

from __future__ import annotations

import json
from typing import Any

from bot import LikesBot
from cogs import quick_clicks
from cogs.likes_browse import likes_browser
from config import Settings
from store.browse_state import load_browse
from tests.botharness import InteractionDriver, InteractionResult, running_bot
from tests.e2e import likes_support
from tests.e2e.likes_support import (
    CALLBACK,
    assert_no_pings,
    footer,
    next_id,
    on_page_two_then_stopped,
    previous_id,
)
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

settings = likes_support.settings


def callback_body(result: InteractionResult) -> dict[str, Any]:
    """The JSON body of the click's own answer (its callback request)."""
    bodies = [r.json for r in result.requests if r.route == CALLBACK and isinstance(r.json, dict)]
    assert len(bodies) == 1, bodies
    return bodies[0]


def state_id(result: InteractionResult) -> str:
    return next_id(result).split(":")[2]


async def test_a_click_on_a_held_page_is_answered_at_once_with_that_page_and_saved_after(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    browser = likes_browser(bot)
    # A paginator nobody clicked holds no rendered page: its first click goes through discord.py.
    page2 = await driver.click(result, next_id(result))
    assert page2.callback_type == 7 and browser.quick_answers == 0

    page3 = await driver.click(page2, next_id(page2))

    assert page3.callback_type == 7 and browser.quick_answers == 1
    assert footer(page3.embed).startswith("Page 3 of 10")
    assert page3.embed["fields"][0]["name"].startswith("21. ")
    assert previous_id(page3).endswith(":1") and next_id(page3).endswith(":3")
    assert_no_pings(page3)
    back = await driver.click(page3, previous_id(page3))
    assert back.callback_type == 7 and browser.quick_answers == 2
    assert back.embed["fields"][0]["name"].startswith("11. ")
    await browser.flush()
    record = await load_browse(bot.store.conn, state_id(result))
    assert record is not None and record.state["current"] == 1
    assert len(x_sandbox.requests_to("liking_users")) == 1
    # The metrics' listener saw every click, the quick ones too (after their answer).
    assert bot.metrics.tally.clicks["ll:pg"] == 3


async def test_a_quick_answer_is_the_one_discord_py_sends_for_the_same_click(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    """The same clicks on two paginators of one post: through discord.py's edit_message, then quick."""

    async def three_clicks() -> list[str]:
        result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        result = await driver.click(result, next_id(result))  # the first click renders, quick or not
        bodies = []
        for button in (next_id, next_id, previous_id):
            result = await driver.click(result, button(result))
            # The paginator's own id aside, the answers must be the same bytes' worth of JSON.
            bodies.append(json.dumps(callback_body(result), sort_keys=True).replace(state_id(result), "ID"))
        return bodies

    quick_clicks.uninstall(bot)
    through_discord_py = await three_clicks()
    assert likes_browser(bot).quick_answers == 0
    quick_clicks.install(likes_browser(bot))
    quick = await three_clicks()

    assert likes_browser(bot).quick_answers == 3
    assert quick == through_discord_py
    assert '"type": 7' in quick[0] and "Page 4 of 10" in quick[1]


async def test_a_held_page_shown_again_after_the_page_list_grew_shows_the_new_total(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    """Page 20 was rendered while the total was unknown; the fetch for page 21 found the last API page."""
    result = await driver.slash("likes liked")
    for _ in range(19):
        result = await driver.click(result, next_id(result))
    assert footer(result.embed).startswith("Page 20 ·") or footer(result.embed) == "Page 20"
    result = await driver.click(result, next_id(result))  # page 21: API page 3 of 3 is fetched
    assert footer(result.embed).startswith("Page 21 of 25")
    quick_before = likes_browser(bot).quick_answers

    back = await driver.click(result, previous_id(result))

    assert back.callback_type == 7 and likes_browser(bot).quick_answers == quick_before + 1
    assert footer(back.embed).startswith("Page 20 of 25")
    assert back.embed["fields"][0]["name"].startswith("191. ")
    assert len(x_sandbox.requests_to("liked_tweets")) == 3


async def test_after_a_restart_the_first_click_rebuilds_and_the_next_ones_are_quick_and_right(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    driver = InteractionDriver(emulator)
    result = await on_page_two_then_stopped(emulator, settings, driver)

    async with running_bot(emulator, settings) as bot:
        page3 = await driver.click(result.response, next_id(result))
        assert page3.callback_type == 6 and likes_browser(bot).quick_answers == 0  # rebuilt: one X request
        page2 = await driver.click(page3, previous_id(page3))
        assert page2.callback_type == 7 and page2.embed["fields"][0]["name"].startswith("11. ")
        page3_again = await driver.click(page2, next_id(page2))

        assert likes_browser(bot).quick_answers == 2
        assert footer(page3_again.embed).startswith("Page 3 of 10")
        assert page3_again.embed["fields"][0]["name"].startswith("21. ")
    assert len(x_sandbox.requests_to("liking_users")) == 2


async def test_a_quick_answer_waits_out_discords_rate_limit_and_still_shows_the_page(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    result = await driver.click(result, next_id(result))
    emulator.rate_limit_next("POST", CALLBACK, retry_after=0.05)

    page3 = await driver.click(result, next_id(result))

    assert [r.status for r in page3.requests if r.route == CALLBACK] == [429, 204]
    assert page3.callback_type == 7 and likes_browser(bot).quick_answers == 1
    assert footer(page3.embed).startswith("Page 3 of 10")


async def test_a_quick_answer_discord_refuses_gets_the_failure_sentence_like_any_click(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    result = await driver.click(result, next_id(result))
    emulator.fail_next("POST", CALLBACK, 400, code=50035, message="Invalid Form Body")

    refused = await driver.click(result, next_id(result))

    assert refused.callback_type == 4 and refused.ephemeral and refused.content
    assert likes_browser(bot).quick_answers == 0
    assert footer(result.response.embeds[0]).startswith("Page 2 of 10")
    assert_no_pings(refused)
