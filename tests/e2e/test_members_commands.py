"""/likes members, /likes top and /likes trend end to end: the emulator's slash commands, a server
connected to the sandbox's @maple_guild, one member linked to a fan; what the emulator received:
the linked member as a mention in the embed (never a ping), the PNG charts attached.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from bot import LikesBot
from tests.accounts_support import accounts_bot, connect_sandbox_account
from tests.botharness import InteractionDriver, InteractionResult
from tests.e2e.digest_support import SettableClock, sandbox_on
from tests.e2e.likes_support import assert_no_pings
from tests.emulator import DiscordEmulator, Member
from xapi.sandbox import COMMUNITY_MAPLE, XSandbox

POST = COMMUNITY_MAPLE.post_ids[0]  # 6 likers, the fans @maple_fan_01..06
FAN, FAN_HANDLE = COMMUNITY_MAPLE.fan_ids[0], "maple_fan_01"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


@pytest_asyncio.fixture
async def bot(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> AsyncIterator[LikesBot]:
    async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as running:
        await connect_sandbox_account(running, x, emulator.guild.id, handle="maple_guild")
        yield running


@pytest_asyncio.fixture
async def fan(bot: LikesBot, emulator: DiscordEmulator, clock: SettableClock) -> Member:
    """A member who ran /link with @maple_fan_01 (the browser leg is tests/e2e/test_link_browser.py's)."""
    member = emulator.member("fan")
    await bot.member_links.link(int(emulator.guild.id), int(member.user.id), x_user_id=FAN, handle=FAN_HANDLE,
                                now=clock.timestamp())
    return member


def png_of(result: InteractionResult, name: str) -> Image.Image:
    """The attached chart as the emulator received it: a PNG, 800×450, not blank."""
    content = result.response.files[name]
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(content) > 5_000
    image = Image.open(io.BytesIO(content))
    image.load()
    assert image.format == "PNG" and image.size == (800, 450)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 20, "the chart is blank"
    return image


async def test_members_lists_the_linked_liker_as_a_mention_without_a_ping(
    bot: LikesBot, emulator: DiscordEmulator, fan: Member,
) -> None:
    result = await InteractionDriver(emulator).slash("likes members", post=POST)
    assert result.ephemeral
    text = result.embed["description"]
    assert f"<@{fan.user.id}>" in text and "maple\\_fan\\_01" in text
    assert "**1 linked member** liked it:" in text and "5 likers are not linked." in text
    assert_no_pings(result)
    # The likers read are recorded for the board and the trend.
    recorded = await bot.like_history.likers_of(COMMUNITY_MAPLE.id, [POST])
    assert len(recorded[POST]) == 6


async def test_members_of_a_post_with_no_linked_liker_says_so(
    bot: LikesBot, emulator: DiscordEmulator,
) -> None:
    result = await InteractionDriver(emulator).slash("likes members", post=POST, public=True)
    assert not result.ephemeral
    assert "No linked member of this server is among the likers X lists." in result.embed["description"]
    assert "6 likers are not linked." in result.embed["description"]


async def test_top_ranks_supporters_marks_the_linked_member_and_attaches_the_bar_chart(
    bot: LikesBot, emulator: DiscordEmulator, fan: Member,
) -> None:
    result = await InteractionDriver(emulator).slash("likes top", days=30)
    embed = result.embed
    assert embed["title"] == "Supporters of @maple\\_guild · last 30 days"
    assert f"<@{fan.user.id}>" in embed["description"]
    assert "2 posts read from X now" in embed["description"], embed["description"]
    assert embed["image"]["url"] == "attachment://supporters.png"
    assert embed["fields"][0]["name"] == "Chart (text)"
    png_of(result, "supporters.png")
    assert_no_pings(result)
    # A second board reads nothing again from X (the posts' likers are recorded).
    again = await InteractionDriver(emulator).slash("likes top", days=30)
    assert "0 posts read from X now" in again.embed["description"]


async def test_trend_says_too_little_history_then_draws_the_like_count(
    bot: LikesBot, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    driver = InteractionDriver(emulator)
    first = await driver.slash("likes trend", post=POST)
    assert "Too little history yet" in first.embed["description"]
    assert first.response.files == {} and "image" not in first.embed
    clock.advance(hours=2)
    x.add_likers(POST, 3)
    second = await driver.slash("likes trend", post=POST, public=True)
    assert not second.ephemeral
    assert second.embed["image"]["url"] == "attachment://trend.png"
    assert "Too little history" not in second.embed["description"]
    png_of(second, "trend.png")
    assert_no_pings(second)
