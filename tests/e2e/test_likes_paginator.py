"""The paginator's rules end to end: owner-only clicks, double clicks, restarts, expiry, lost state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot import LikesBot
from config import Settings
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e.likes_support import assert_no_pings, next_id, previous_id
from tests.emulator import DiscordEmulator
from ui.paginator import NOT_YOURS, STATE_GONE, live_pagers
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


@pytest_asyncio.fixture
async def settings(emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path) -> Settings:
    return emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")


def footer(result_embed: dict[str, object]) -> str:
    value = result_embed["footer"]
    assert isinstance(value, dict)
    return str(value["text"])


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

    assert first.callback_type == second.callback_type == 6
    assert footer(result.embed).startswith("Page 2 of 10")
    assert result.embed["fields"][0]["name"].startswith("11. ")


async def test_buttons_keep_working_after_a_restart(
    emulator: DiscordEmulator, x_sandbox: XSandbox, settings: Settings,
) -> None:
    driver = InteractionDriver(emulator)
    async with running_bot(emulator, settings):
        result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        result = await driver.click(result, next_id(result))
        assert footer(result.embed).startswith("Page 2 of 10")
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
