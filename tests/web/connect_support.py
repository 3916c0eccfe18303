"""A bot with /x connect set up against the X sandbox, and the steps a server manager takes.

The bot's X app is a public client registered at the sandbox with the bot's real /x/callback URL
(a free port, known once the bot listens). `connect_in_browser` is what a person does: run
/x connect, open the link button's URL in Chromium, choose an account on the sandbox's consent page
and press Approve (or Cancel); the browser lands on the bot's /x/callback page.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from bot import LikesBot
from config import Settings
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.emulator import DiscordEmulator, Interaction, Member, Message
from tests.emulator.builders import base_interaction
from xapi.sandbox import XSandbox

if TYPE_CHECKING:
    from playwright.async_api import Page

CLIENT_ID = "likelens-connect-test-app"
PASTE_ID = "ll:xp"


def connect_settings(
    emulator: DiscordEmulator, x_sandbox: XSandbox, database: Path, **overrides: Any,
) -> Settings:
    """The bot's settings with X_CLIENT_ID and X_AUTHORIZE_URL pointing at the sandbox."""
    return emulator_settings(
        emulator, x_sandbox.base_url, database, x_client_id=CLIENT_ID,
        x_authorize_url=x_sandbox.base_url + "/i/oauth2/authorize", **overrides,
    )


@asynccontextmanager
async def connect_bot(
    emulator: DiscordEmulator, x_sandbox: XSandbox, database: Path, **overrides: Any,
) -> AsyncIterator[LikesBot]:
    """A running bot whose X app (CLIENT_ID) the sandbox knows, with the bot's callback URL."""
    async with running_bot(emulator, connect_settings(emulator, x_sandbox, database, **overrides)) as bot:
        x_sandbox.register_client(CLIENT_ID, [bot.web.callback_url])
        yield bot


def link_url(message: Message) -> str:
    """The URL of the message's link button (link buttons have no custom_id)."""
    links = [item["url"] for row in message.components for item in row.get("components", [])
             if item.get("style") == 5]
    assert len(links) == 1, message.components
    return str(links[0])


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


@dataclass
class Shown:
    """What the callback page shows a person."""

    status: int
    title: str
    heading: str
    sentence: str
    html: str


async def shown(page: Page, status: int) -> Shown:
    return Shown(status, await page.title(), await page.get_by_role("heading", level=1).inner_text(),
                 await page.get_by_role("paragraph").inner_text(), await page.content())


async def consent(page: Page, url: str, *, handle: str = "maple_guild", approve: bool = True) -> Shown:
    """Open the consent URL, choose @handle, press Approve (or Cancel); what the callback page shows."""
    await page.goto(url)
    await page.get_by_label(f"@{handle}", exact=False).check()
    async with page.expect_navigation() as navigation:
        await page.get_by_role("button", name="Approve" if approve else "Cancel").click()
    response = await navigation.value
    return await shown(page, response.status if response is not None else 0)


async def connect_in_browser(
    driver: InteractionDriver, page: Page, *, handle: str = "maple_guild", approve: bool = True,
    member: Member | None = None,
) -> tuple[InteractionResult, Shown]:
    """/x connect, then the browser leg; the command's result (its answer edited since) and the page."""
    result = await driver.slash("x connect", member=member)
    page_shown = await consent(page, link_url(result.response), handle=handle, approve=approve)
    return result, page_shown


def build_modal_submit(
    emulator: DiscordEmulator, message: Message, custom_id: str, fields: dict[str, str], *, member: Member,
) -> Interaction:
    """A MODAL_SUBMIT interaction (type 5): member submits the modal opened from a button on message."""
    channel = next(c for g in emulator.guilds for c in g.channels if c.id == message.channel_id)
    guild = next(g for g in emulator.guilds if channel in g.channels)
    interaction = base_interaction(emulator, 5, member, channel, guild)
    interaction.payload["data"] = {
        "custom_id": custom_id,
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": name, "value": value}]}
                       for name, value in fields.items()],
    }
    interaction.payload["message"] = message.data
    interaction.source_message_id = message.id
    return interaction


async def submit_modal(
    driver: InteractionDriver, opened: InteractionResult, text: str, *, member: Member | None = None,
) -> InteractionResult:
    """Fill the modal the click `opened` answered with (its only text input) with text and submit it."""
    callback = opened.interaction.callback
    assert callback is not None and callback["type"] == 9, callback
    modal = callback["data"]
    [row] = modal["components"]
    [text_input] = row["components"]
    source = opened.emulator.messages[str(opened.interaction.source_message_id)]
    interaction = build_modal_submit(
        opened.emulator, source, modal["custom_id"], {text_input["custom_id"]: text},
        member=member or driver.moderator,
    )
    result = await driver._run(interaction, "modal submit")
    # discord.py runs a modal's on_submit in a task of its own, which the driver does not wait for.
    me = asyncio.current_task()
    while pending := [t for t in asyncio.all_tasks() if t is not me and not t.done()
                      and t.get_name().startswith("discord-ui-modal-dispatch")]:
        await asyncio.wait(pending, timeout=10)
    await driver.settle()
    return result


def replace_settings(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)
