"""The message command "Who liked this post" (right-click a message → Apps): the /likes post
paginator for the first link to one of the server's account's posts in the message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord

from bot import LikesBot
from cogs.message_commands import WHO_LIKED
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.e2e.likes_support import assert_no_pings, next_id
from tests.emulator import DiscordEmulator, Message
from tests.emulator.messages import new_message
from xapi import sandbox
from xapi.sandbox import XSandbox

OWN = sandbox.OWNER_USERNAME


def link(post_id: str, handle: str = OWN) -> str:
    return f"https://x.com/{handle}/status/{post_id}"


def written(emulator: DiscordEmulator, content: str, embeds: list[dict[str, Any]] | None = None) -> Message:
    """A message a member wrote in #general (embeds as Discord unfurls links: url, description, fields)."""
    author = emulator.member("writer").user
    payload: dict[str, Any] = {"content": content, "embeds": embeds or []}
    return new_message(emulator, emulator.channel("general").id, payload, {}, author=author)


def sentence(result: InteractionResult) -> str:
    assert result.ephemeral and not result.embeds and not result.response.buttons
    assert_no_pings(result)
    return result.content


async def test_a_link_in_the_content_opens_the_likers_paginator_ephemerally(
    driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    message = written(emulator, f"Go like this one! {link(sandbox.POST_100_LIKES)}?s=20 thanks")

    result = await driver.message_command(WHO_LIKED, message)

    assert result.ephemeral
    assert result.embed["title"] == "Who liked this post"
    assert result.embed["footer"]["text"].startswith("Page 1 of 10")
    assert result.embed["fields"][0]["name"].startswith("1. ")
    assert_no_pings(result)
    # The same paginator as /likes post: its Next button turns the page.
    page2 = await driver.click(result, next_id(result))
    assert page2.embed["footer"]["text"].startswith("Page 2 of 10")
    assert len(x_sandbox.requests_to("liking_users")) == 1


async def test_a_link_in_an_embed_is_found(driver: InteractionDriver, emulator: DiscordEmulator) -> None:
    by_url = written(emulator, "", [{"url": link(sandbox.POST_7_LIKES), "title": "LikeLens on X"}])
    markdown = f"[the post]({link(sandbox.POST_7_LIKES)})"
    in_text = written(emulator, "see the embed", [{"description": markdown}])
    in_field = written(emulator, "", [{"title": "Posts", "fields": [
        {"name": "Today", "value": f"<{link(sandbox.POST_7_LIKES)}>", "inline": False}]}])

    for message in (by_url, in_text, in_field):
        result = await driver.message_command(WHO_LIKED, message)
        assert result.ephemeral
        assert result.embed["title"] == "Who liked this post"
        assert len(result.embed["fields"]) == 7


async def test_the_first_link_to_the_accounts_own_post_is_the_one_opened(
    driver: InteractionDriver, emulator: DiscordEmulator,
) -> None:
    message = written(emulator, (
        f"{link(sandbox.POST_OTHER_ACCOUNT, sandbox.USER_OTHER_USERNAME)} quoted "
        f"https://twitter.com/{OWN.upper()}/status/{sandbox.POST_7_LIKES} and "
        f"{link(sandbox.POST_100_LIKES)}"))

    result = await driver.message_command(WHO_LIKED, message)

    assert len(result.embed["fields"]) == 7  # POST_7_LIKES, the first link of @likelens_demo


async def test_a_message_without_a_post_link_gets_one_sentence(
    driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    message = written(emulator, "Nothing here but https://example.org/status/1 and https://x.com/likelens_demo",
                      [{"description": "an embed with no link"}])

    result = await driver.message_command(WHO_LIKED, message)

    assert sentence(result) == (
        "This message has no link to an X post: right-click a message with a post link "
        "(https://x.com/…/status/…), or use `/likes post`.")
    assert x_sandbox.requests_to("liking_users") == []


async def test_a_link_to_another_accounts_post_gets_the_likes_post_sentence(
    driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    message = written(emulator, f"Look: {link(sandbox.POST_OTHER_ACCOUNT, sandbox.USER_OTHER_USERNAME)}")

    result = await driver.message_command(WHO_LIKED, message)
    slash = await driver.slash("likes post", post=sandbox.POST_OTHER_ACCOUNT)

    assert sentence(result) == sentence(slash)
    assert f"@{OWN}" in sentence(result)
    assert x_sandbox.requests_to("liking_users") == []


async def test_a_server_no_account_serves_is_refused_before_x_is_asked(
    x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        async with running_bot(emulator, settings):
            message = written(emulator, link(sandbox.POST_7_LIKES))
            result = await InteractionDriver(emulator).message_command(WHO_LIKED, message)
            assert "/x connect" in sentence(result)
    assert x_sandbox.requests == []


async def test_the_message_command_is_synced_for_moderators_in_servers(
    bot: LikesBot, emulator: DiscordEmulator,
) -> None:
    (command,) = [c for c in emulator.global_commands if c["name"] == WHO_LIKED]
    assert command["type"] == 3
    assert int(command["default_member_permissions"]) == discord.Permissions(manage_messages=True).value
    assert command["contexts"] == [0] or command.get("dm_permission") is False
