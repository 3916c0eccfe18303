"""Each error a /likes user can see, end to end: one plain sentence, no traceback, no secret, no ping."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import discord
import pytest

from bot import LikesBot
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.e2e.likes_support import assert_no_pings, message_with_button, next_id
from tests.emulator import DiscordEmulator
from ui.error_messages import APOLOGY
from ui.paginator import NOT_YOURS
from ui.respond import answer
from xapi import sandbox
from xapi.sandbox import XSandbox

SECRETS = (sandbox.SANDBOX_ACCESS_TOKEN, sandbox.SANDBOX_ACCESS_TOKEN_SECRET, sandbox.SANDBOX_API_SECRET,
           sandbox.SANDBOX_BEARER_TOKEN)


def shown(result: InteractionResult) -> str:
    """The only thing the user sees: the response's text, with no embed and no buttons left over."""
    assert result.ephemeral
    assert not result.embeds and not result.response.buttons
    text = result.content
    assert "Traceback" not in text and 'File "' not in text
    assert not any(secret in text for secret in SECRETS)
    assert_no_pings(result)
    return text


async def test_an_unparseable_post_reference_says_how_to_write_one(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post="my favourite post")
    assert "That is not an X post. Paste a post link like https://x.com/" in shown(result)
    assert x_sandbox.requests == []


async def test_an_unparseable_user_reference_says_how_to_write_one(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="not a handle!")
    assert "That is not an X account. Give an @handle" in shown(result)
    assert x_sandbox.requests == []


async def test_a_pasted_discord_mention_asks_for_the_x_handle(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="<@123>")
    assert shown(result).startswith("That is not an X account but a Discord mention. Paste their X handle")
    assert x_sandbox.requests == []


async def test_a_deleted_post(driver: InteractionDriver, x_sandbox: XSandbox) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_DELETED)
    assert result.callback_type == 5
    assert shown(result) == "X has no such post: it was deleted, or the link or id is wrong."
    assert x_sandbox.requests_to("liking_users") == []


async def test_another_accounts_post_says_likes_are_private(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_OTHER_ACCOUNT)
    assert shown(result) == (
        "Likes are private on X: LikeLens can only list likes on posts of @likelens_demo."
    )
    # Known from the post's author: no request X would refuse was sent.
    assert x_sandbox.requests_to("liking_users") == []


@pytest.mark.parametrize(("user", "sentence"), [
    (f"@{sandbox.USER_OTHER_USERNAME}",
     "Likes are private on X: LikeLens can only list the likes of @likelens_demo."),
    (f"https://x.com/{sandbox.USER_PROTECTED_USERNAME}",
     "@locked_fan is a protected account: X does not show what it likes."),
])
async def test_another_accounts_likes_are_private_and_a_protected_one_says_so(
    driver: InteractionDriver, x_sandbox: XSandbox, user: str, sentence: str,
) -> None:
    result = await driver.slash("likes liked", user=user)
    assert shown(result) == sentence
    # Known from the account lookup: no request X would refuse was sent.
    assert x_sandbox.requests_to("liked_tweets") == []


async def test_x_refusing_another_accounts_post_is_the_same_sentence(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    # /likes check asks X directly: X's own 403 gets the same sentence.
    result = await driver.slash("likes check", post=sandbox.POST_OTHER_ACCOUNT, user="@other_public")
    assert shown(result) == (
        "Likes are private on X: LikeLens can only list likes on posts of @likelens_demo."
    )
    assert [r.status for r in x_sandbox.requests_to("liking_users")] == [403]


async def test_rate_limited_says_when_and_sends_nothing_once_the_budget_is_spent(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    x_sandbox.rate_limits["liking_users"] = 1
    first = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    assert first.embed["title"] == "Who liked this post"
    sent = len(x_sandbox.requests)

    commands: list[tuple[str, dict[str, Any]]] = [
        ("likes post", {"post": sandbox.POST_7_LIKES}),
        ("likes check", {"post": sandbox.POST_7_LIKES, "user": "@other_public"}),
        ("likes export", {"post": sandbox.POST_7_LIKES}),
    ]
    for command, options in commands:
        result = await driver.slash(command, **options)
        text = shown(result)
        assert text.startswith("X's rate limit for this lookup is used up: try again <t:"), command
        assert text.endswith(":R>.")
    # The budget was known spent: not one request went to X, not even the post or user lookups.
    assert len(x_sandbox.requests) == sent


async def test_rate_limited_by_x_itself(driver: InteractionDriver, x_sandbox: XSandbox) -> None:
    x_sandbox.rate_limits["liking_users"] = 0
    result = await driver.slash("likes export", post=sandbox.POST_7_LIKES)
    assert shown(result).startswith("X's rate limit for this lookup is used up: try again <t:")
    assert [r.status for r in x_sandbox.requests_to("liking_users")] == [429]


async def test_usage_cap_reached(driver: InteractionDriver, x_sandbox: XSandbox) -> None:
    x_sandbox.faults.usage_capped = True
    result = await driver.slash("likes post", post=sandbox.POST_7_LIKES)
    assert shown(result).startswith("The X app has reached its usage cap")
    # A usage cap is never retried.
    assert len(x_sandbox.requests) == 1


async def test_x_credentials_rejected(emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "db.sqlite",
                                 x_access_token="revoked-token-1234567890")
    async with running_bot(emulator, settings):
        result = await InteractionDriver(emulator).slash("likes liked")
    text = shown(result)
    assert text.startswith("X rejected LikeLens' credentials")
    assert "revoked-token" not in text


async def test_x_slow_gives_a_clear_message_after_the_deadline(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "db.sqlite")
    x_sandbox.faults.latency_seconds = 0.8
    async with running_bot(emulator, settings, x_deadline=0.2):
        result = await InteractionDriver(emulator).slash("likes post", post=sandbox.POST_7_LIKES)
    assert result.callback_type == 5  # deferred before X was asked, so Discord's 3 s never ran out
    assert shown(result) == "X did not answer in time (it may be slow or down): please try again in a minute."


async def test_x_down_after_retries(driver: InteractionDriver, x_sandbox: XSandbox) -> None:
    x_sandbox.faults.server_error_ratio = 1.0
    result = await driver.slash("likes liked")
    assert shown(result).startswith("X is having trouble")
    assert len(x_sandbox.requests) > 1  # retried before giving up


async def test_partial_errors_show_the_page_and_a_footnote(
    driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    x_sandbox.faults.partial_errors = True
    result = await driver.slash("likes post", post=sandbox.POST_7_LIKES)
    assert len(result.embed["fields"]) == 7
    assert "-# X could not return 1 item here (Not Found Error)." in result.embed["description"]
    assert_no_pings(result)


async def test_an_unexpected_failure_is_logged_and_answered_with_an_apology(
    bot: LikesBot, driver: InteractionDriver, caplog: pytest.LogCaptureFixture,
) -> None:
    await bot.store.conn.close()  # the paginator cannot save its state
    with caplog.at_level(logging.ERROR, logger="likelens.ui"):
        result = await driver.slash("likes post", post=sandbox.POST_7_LIKES)
    assert shown(result) == APOLOGY
    assert any(r.name == "likelens.ui" and r.exc_info for r in caplog.records)


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"test:answer"):
    """A button answered by ui.respond.answer at once (no defer): its send-a-message path, with a file."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(label="Answer", custom_id="test:answer"))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> AnswerButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        await answer(interaction, content="@everyone", file=discord.File(io.BytesIO(b"a"), filename="a.csv"))


async def test_every_kind_of_message_turns_mentions_off_itself(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    """Each answer passes allowed_mentions none itself; the bot's global default is only a second guard.

    The default is switched to "everything pings" here, so a send that relied on it would be caught.
    """
    bot.allowed_mentions = discord.AllowedMentions.all()
    command = await driver.slash("likes liked")  # deferred, then the original response edited
    refused = await driver.click(command, next_id(command), member=emulator.member("bystander"))  # a message
    export = await driver.slash("likes export", post=sandbox.POST_7_LIKES)  # an edit carrying a file
    edit = command
    for _ in range(9):
        edit = await driver.click(edit, next_id(edit))  # a deferred update, then an edit
    x_sandbox.faults.usage_capped = True
    failed_click = await driver.click(edit, next_id(edit))  # X fails after the click was deferred
    message = await message_with_button(bot, emulator, AnswerButton(), "A button")
    answered = await driver.click(message, "test:answer")  # a message with a file

    assert refused.callback_type == 4 and refused.content == NOT_YOURS
    assert f"likers-{sandbox.POST_7_LIKES}.csv" in export.response.files
    assert failed_click.followups and failed_click.followups[0].content.startswith("The X app has reached")
    assert answered.callback_type == 4 and "a.csv" in answered.response.files
    for result in (command, refused, export, edit, failed_click, answered):
        assert_no_pings(result)
