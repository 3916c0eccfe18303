"""Sentences that name an X account name the one serving the server: the configured account's
handle on a real deployment, a connected account's own, the sandbox's only under --sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot import LikesBot
from tests.accounts_support import connect_sandbox_account
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.e2e.likes_support import assert_no_pings
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox
from xapi.sandbox.community import COMMUNITY_MAPLE
from xapi.sandbox.oauth2_tokens import OAUTH2_SCOPE, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Grant

SANDBOX_HANDLE = sandbox.OWNER_USERNAME


def shown(result: InteractionResult) -> str:
    assert result.ephemeral and not result.embeds
    assert_no_pings(result)
    return result.content


@pytest_asyncio.fixture
async def maple_bot(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> AsyncIterator[LikesBot]:
    """A bot whose configured account (OAuth 2.0, X_OAUTH2_REFRESH_TOKEN) is @maple_guild."""
    grant = Grant(COMMUNITY_MAPLE.id, tuple(OAUTH2_SCOPE.split()), SANDBOX_CLIENT_ID)
    refresh_token = x_sandbox.oauth2.issue(grant).refresh_token
    settings = emulator_settings(
        emulator, x_sandbox.base_url, tmp_path / "likelens.db", x_api_key=None, x_api_secret=None,
        x_access_token=None, x_access_token_secret=None, x_client_id=SANDBOX_CLIENT_ID,
        x_client_secret=SANDBOX_CLIENT_SECRET, x_oauth2_refresh_token=refresh_token,
    )
    async with running_bot(emulator, settings) as running:
        yield running


async def test_before_x_named_the_account_the_examples_name_no_account(
    maple_bot: LikesBot, emulator: DiscordEmulator, x_sandbox: XSandbox,
) -> None:
    driver = InteractionDriver(emulator)

    post = shown(await driver.slash("likes post", post="my favourite post"))
    user = shown(await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="not a handle!"))

    assert post.startswith("That is not an X post. Paste a post link like https://x.com/")
    assert user.startswith("That is not an X account. Give an @handle")
    assert SANDBOX_HANDLE not in post + user
    # A refusal of bad input asks X nothing, not even the account's name.
    assert x_sandbox.requests_to("/2/") == []


async def test_a_real_deployment_names_its_configured_account(
    maple_bot: LikesBot, emulator: DiscordEmulator,
) -> None:
    driver = InteractionDriver(emulator)
    refusal = shown(await driver.slash("likes post", post=sandbox.POST_OTHER_ACCOUNT))

    post = shown(await driver.slash("likes post", post="my favourite post"))
    user = shown(await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="not a handle!"))
    mention = shown(await driver.slash("likes check", post=sandbox.POST_7_LIKES, user="<@123>"))
    digest = (await driver.slash("digest add", subject="a post", channel="digests", every="6h")).content

    assert refusal == "Likes are private on X: LikeLens can only list likes on posts of @maple_guild."
    assert "https://x.com/maple_guild/status/" in post
    assert "@maple_guild" in user and "https://x.com/maple_guild" in user
    assert "@maple_guild" in mention
    assert "https://x.com/maple_guild/status/" in digest and digest.endswith("Or write `liked` or `recent`.")
    assert SANDBOX_HANDLE not in refusal + post + user + mention + digest


async def test_a_connected_server_is_told_about_its_own_account(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db",
                                 x_client_id="likelens-test-app")
    async with running_bot(emulator, settings) as bot:
        driver = InteractionDriver(emulator)
        await connect_sandbox_account(bot, x_sandbox, emulator.guild.id, handle="harbor_club")
        before = len(x_sandbox.requests)

        post = shown(await driver.slash("likes post", post="my favourite post"))

        # Its handle is stored with the connection: no request to word the sentence.
        assert len(x_sandbox.requests) == before
        refusal = shown(await driver.slash("likes post", post=sandbox.POST_OTHER_ACCOUNT))
    assert "https://x.com/harbor_club/status/" in post
    assert refusal.endswith("posts of @harbor_club.")
    assert SANDBOX_HANDLE not in post + refusal


async def test_under_sandbox_the_sentences_name_the_sandbox_account(
    emulator: DiscordEmulator, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, "https://api.x.com", tmp_path / "likelens.db", sandbox=True)
    async with running_bot(emulator, settings):
        driver = InteractionDriver(emulator)
        post = shown(await driver.slash("likes post", post="my favourite post"))

    assert f"https://x.com/{SANDBOX_HANDLE}/status/" in post
