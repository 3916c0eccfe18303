"""ui.paginator.open_browser from a button on another message (the digest's Browse button)."""

from __future__ import annotations

from typing import Any, cast

import discord

from bot import LikesBot
from tests.botharness import InteractionDriver
from tests.e2e.likes_support import assert_no_pings, message_with_button, next_id
from tests.emulator import DiscordEmulator
from tests.emulator.state import Message
from ui.paginator import NOT_YOURS, open_browser
from xapi import sandbox
from xapi.sandbox import XSandbox


class BrowseButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                   template=r"test:browse:(?P<post>[0-9]+)"):
    """A stand-in for the digest's Browse button."""

    def __init__(self, post_id: str) -> None:
        super().__init__(discord.ui.Button(label="Browse", custom_id=f"test:browse:{post_id}"))
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> BrowseButton:
        return cls(str(match["post"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast(LikesBot, interaction.client)
        await open_browser(bot, interaction, kind="liking_users", subject_id=self.post_id)


async def post_with_browse_button(bot: LikesBot, emulator: DiscordEmulator, post_id: str) -> Message:
    return await message_with_button(bot, emulator, BrowseButton(post_id), "New likes")


async def test_a_browse_button_opens_a_paginator_for_whoever_clicked(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    digest = await post_with_browse_button(bot, emulator, sandbox.POST_100_LIKES)
    member = emulator.member("reader")

    result = await driver.click(digest, f"test:browse:{sandbox.POST_100_LIKES}", member=member)

    assert result.callback_type == 5 and result.ephemeral
    assert result.response.id != digest.id
    assert digest.content == "New likes" and not digest.embeds  # the digest message is untouched
    assert result.embed["title"] == "Who liked this post"
    assert result.embed["footer"]["text"].startswith("Page 1 of 10")
    assert_no_pings(result)
    # The paginator belongs to the member who clicked Browse.
    page2 = await driver.click(result, next_id(result), member=member)
    assert page2.embed["fields"][0]["name"].startswith("11. ")
    refused = await driver.click(result, next_id(page2))
    assert refused.content == NOT_YOURS
    assert len(x_sandbox.requests_to("liking_users")) == 1


async def test_a_browse_button_on_a_deleted_post_answers_plainly(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    digest = await post_with_browse_button(bot, emulator, sandbox.POST_DELETED)

    result = await driver.click(digest, f"test:browse:{sandbox.POST_DELETED}")

    assert result.ephemeral and result.response.id != digest.id
    assert result.content == "X has no such post: it was deleted, or the link or id is wrong."
