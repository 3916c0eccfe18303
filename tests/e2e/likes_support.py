"""Helpers of the /likes end-to-end tests: find the paginator's buttons, check that nothing pings,
post a message carrying a test button, restart a bot on the same database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest_asyncio

from bot import LikesBot
from config import Settings
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.emulator.state import Message
from xapi import sandbox
from xapi.sandbox import XSandbox


def _pager_ids(result: InteractionResult) -> list[str]:
    return [cid for cid in result.response.buttons if cid.startswith("ll:pg:")]


def previous_id(result: InteractionResult) -> str:
    """The custom_id of the Previous button on the result's message."""
    return _pager_ids(result)[0]


def next_id(result: InteractionResult) -> str:
    """The custom_id of the Next button on the result's message."""
    return _pager_ids(result)[-1]


def assert_no_pings(result: InteractionResult) -> None:
    """Every message request of this interaction disabled mentions (allowed_mentions parse empty).

    The bot's global default (AllowedMentions.none()) would satisfy this too; that each send passes
    it itself is proved by test_every_kind_of_message_turns_mentions_off_itself, which switches the
    default to "everything pings".
    """
    sent = [r for r in result.requests if r.method in ("POST", "PATCH") and isinstance(r.json, dict)]
    checked = 0
    for request in sent:
        body = request.json
        payload = body.get("data", body) if "type" in body else body
        if not isinstance(payload, dict) or not ({"content", "embeds"} & payload.keys()):
            continue
        checked += 1
        assert payload.get("allowed_mentions") == {"parse": []}, (request.path, payload)
    assert checked, "the interaction sent no message to check"


async def message_with_button(
    bot: LikesBot, emulator: DiscordEmulator, button: discord.ui.DynamicItem[Any], content: str,
) -> Message:
    """The emulator's copy of a message the bot posts in #general with button (its class registered)."""
    bot.add_dynamic_items(type(button))
    view = discord.ui.View(timeout=None).add_item(button)
    channel = bot.get_channel(int(emulator.channel("general").id))
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(content, view=view, allowed_mentions=discord.AllowedMentions.none())
    return emulator.messages[str(sent.id)]


@pytest_asyncio.fixture
async def settings(emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path) -> Settings:
    return emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")


CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"


def footer(result_embed: dict[str, object]) -> str:
    value = result_embed["footer"]
    assert isinstance(value, dict)
    return str(value["text"])


async def on_page_two_then_stopped(
    emulator: DiscordEmulator, settings: Settings, driver: InteractionDriver,
) -> InteractionResult:
    """A bot started, /likes post over 100 likers, Next clicked once, the bot stopped (before a restart)."""
    async with running_bot(emulator, settings):
        result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        result = await driver.click(result, next_id(result))
        assert footer(result.embed).startswith("Page 2 of 10")
    return result
