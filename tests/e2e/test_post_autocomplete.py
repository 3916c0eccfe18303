"""Autocomplete of the account's recent posts on every `post` option and on /digest add subject.

The choices come from a per-account cache refreshed in the background: a warm cache answers with
no X request, a cold one answers at once (empty) and fills itself, X failing leaves the choices
empty (never an error), and a burst of autocompletes asks X at most once a minute.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import LikesBot
from cogs.post_choices import recent_posts
from tests.accounts_support import connect_sandbox_account
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.e2e.digest_support import SettableClock
from tests.emulator import DiscordEmulator, Guild, Interaction
from xapi import sandbox
from xapi.sandbox import XSandbox

USER_POSTS = f"/2/users/{sandbox.OWNER_ID}/tweets"
NEWEST = "3h · Shipping day 🚀 (owner post 0)"
NEWEST_ID = "1860000000000000015"


async def warmed(bot: LikesBot, driver: InteractionDriver, command: str = "likes post") -> None:
    """The first autocomplete starts the refresh; wait until it has filled the cache."""
    await driver.autocomplete(command, "post", "")
    await recent_posts(bot).settled()


async def test_a_cold_cache_answers_at_once_and_the_refresh_fills_it(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    first = await driver.autocomplete("likes post", "post", "")
    # Nothing cached yet: answered without waiting for X.
    assert first == []
    await recent_posts(bot).settled()
    assert len(x_sandbox.requests_to(USER_POSTS)) == 1

    second = await driver.autocomplete("likes post", "post", "")

    assert second[0] == {"name": NEWEST, "value": NEWEST_ID}
    assert len(second) == 13  # the owner's 13 recent posts, newest first
    assert all(len(choice["name"]) <= 100 for choice in second)
    assert [c["name"].split(" · ")[0] for c in second] == [
        "3h", "12h", "21h", "1d", "1d", "2d", "2d", "2d", "3d", "3d", "3d", "4d", "4d"]


async def test_a_warm_cache_answers_with_no_request_to_x(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox,
) -> None:
    await warmed(bot, driver)
    before = len(x_sandbox.requests)

    for command in ("likes post", "likes check", "likes export"):
        if command == "likes check":
            choices = await driver.autocomplete(command, "post", "caches", user="@fan")
        else:
            choices = await driver.autocomplete(command, "post", "caches")
        assert [c["name"] for c in choices] == ["12h · Thread 🧵 on why caches matter (1/5) (owner post 1)"]

    assert len(x_sandbox.requests) == before


async def test_what_was_typed_filters_by_text_and_id(bot: LikesBot, driver: InteractionDriver) -> None:
    await warmed(bot, driver)

    by_text = await driver.autocomplete("likes post", "post", "SHIPPING")
    by_id = await driver.autocomplete("likes post", "post", sandbox.POST_7_LIKES)

    # Post 12 repeats post 0's text (the sandbox cycles 12 texts).
    assert [c["name"] for c in by_text] == [NEWEST, "4d · Shipping day 🚀 (owner post 12)"]
    # A whole id parses: offered back first, with the post's text when it is cached.
    assert by_id[0]["value"] == sandbox.POST_7_LIKES
    assert " · " in by_id[0]["name"]
    assert [c["value"] for c in by_id].count(sandbox.POST_7_LIKES) == 1


async def test_a_typed_link_or_id_is_offered_back_first_even_when_cold(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    link = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{sandbox.POST_100_LIKES}?s=20"

    from_link = await driver.autocomplete("likes post", "post", link)
    from_id = await driver.autocomplete("likes export", "post", "1234567890123")
    nonsense = await driver.autocomplete("likes post", "post", "https://example.org/status/1")

    assert from_link == [{"name": link, "value": sandbox.POST_100_LIKES}]
    assert from_id == [{"name": "1234567890123", "value": "1234567890123"}]
    assert nonsense == []


async def test_the_chosen_value_runs_the_command_as_a_pasted_id(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    await warmed(bot, driver)
    (choice,) = await driver.autocomplete("likes post", "post", "owner post 10")

    result = await driver.slash("likes post", post=choice["value"])

    assert result.embed["title"].startswith("Who liked")


async def test_x_failing_leaves_the_choices_empty_and_says_no_error(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox, emulator: DiscordEmulator,
) -> None:
    x_sandbox.faults.usage_capped = True

    first = await driver.autocomplete("likes post", "post", "")
    await recent_posts(bot).settled()
    second = await driver.autocomplete("likes post", "post", "ship")

    assert first == [] and second == []
    autocompletes = [i for i in emulator.interactions.values() if i.type == 4]
    assert [i.callback_type for i in autocompletes] == [8, 8]
    assert not [m for m in emulator.messages.values() if m.interaction_id]


async def send_all(emulator: DiscordEmulator, interactions: list[Interaction]) -> None:
    await asyncio.gather(*(emulator.send_interaction(i) for i in interactions))
    await emulator.wait_until(lambda: all(i.acknowledged for i in interactions), what="every autocomplete")


async def test_a_burst_of_autocompletes_asks_x_once_a_minute(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    clock = SettableClock()
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    moderator = emulator.member("moderator")
    async with running_bot(emulator, settings, clock=clock) as bot:
        def burst() -> list[Interaction]:
            return [emulator.build_slash("likes post", {"post": str(n)}, member=moderator, focused="post")
                    for n in range(20)]

        await send_all(emulator, burst())
        await recent_posts(bot).settled()
        clock.advance(seconds=50)
        await send_all(emulator, burst())
        await recent_posts(bot).settled()
        assert len(x_sandbox.requests_to(USER_POSTS)) == 1

        clock.advance(seconds=11)  # a minute after the first refresh: the next burst refreshes once
        await send_all(emulator, burst())
        await recent_posts(bot).settled()
        await send_all(emulator, burst())
        await recent_posts(bot).settled()

    assert len(x_sandbox.requests_to(USER_POSTS)) == 2


async def test_digest_add_subject_offers_the_words_and_the_posts(
    bot: LikesBot, driver: InteractionDriver,
) -> None:
    async def subject(typed: str) -> list[dict[str, str]]:
        return await driver.autocomplete("digest add", "subject", typed, channel="digests", every="6h")

    await subject("")
    await recent_posts(bot).settled()

    everything = await subject("")
    words = await subject("REC")
    posts = await subject("caches")

    assert [c["value"] for c in everything[:2]] == ["liked", "recent"]
    assert everything[2]["name"] == NEWEST
    assert len(everything) == 15
    assert [c["value"] for c in words] == ["recent"]
    assert [c["name"] for c in posts] == ["12h · Thread 🧵 on why caches matter (1/5) (owner post 1)"]


@pytest.mark.parametrize("command", ["likes post", "likes check", "likes export"])
async def test_every_post_option_is_synced_with_autocomplete(
    bot: LikesBot, emulator: DiscordEmulator, command: str,
) -> None:
    (likes,) = [c for c in emulator.global_commands if c["name"] == "likes"]
    sub = next(o for o in likes["options"] if o["name"] == command.split()[1])
    post = next(o for o in sub["options"] if o["name"] == "post")
    assert post.get("autocomplete") is True


async def test_each_server_is_offered_the_posts_of_its_own_account(
    x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        maple_server, harbor_server = emulator.guild, emulator.add_guild("Harbor")
        unserved = emulator.add_guild("Nobody's")
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db",
                                     x_client_id="likelens-test-app")
        async with running_bot(emulator, settings) as bot:
            await connect_sandbox_account(bot, x_sandbox, maple_server.id, handle="maple_guild")
            await connect_sandbox_account(bot, x_sandbox, harbor_server.id, handle="harbor_club")

            async def offered(guild: Guild) -> list[str]:
                member = emulator.member("moderator", guild=guild)
                interaction = emulator.build_slash("likes post", {"post": ""}, member=member, guild=guild,
                                                   focused="post")
                await send_all(emulator, [interaction])
                return [c["name"] for c in InteractionResult(interaction, emulator).choices]

            for guild in (maple_server, harbor_server, unserved):
                await offered(guild)
            await recent_posts(bot).settled()

            assert await offered(maple_server) == [
                "5h · Maple Guild 🍁 news #3", "1d · Maple Guild 🍁 news #2", "1d · Maple Guild 🍁 news #1"]
            assert await offered(harbor_server) == [
                "5h · Harbor Club ⚓ news #3", "1d · Harbor Club ⚓ news #2", "1d · Harbor Club ⚓ news #1"]
            assert await offered(unserved) == []
    # One refresh per account; nothing asked for the unserved server.
    assert len(x_sandbox.requests_to("/tweets")) == 2


async def test_a_server_past_its_daily_cap_gets_no_choices_and_x_no_request(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    # 100 posts cannot fit a cap of 50: the refresh is refused before it is sent.
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db",
                                 x_daily_items_per_server=50)
    async with running_bot(emulator, settings) as bot:
        driver = InteractionDriver(emulator)
        await warmed(bot, driver)
        choices = await driver.autocomplete("likes post", "post", "")
        typed = await driver.autocomplete("likes post", "post", sandbox.POST_7_LIKES)

    assert choices == []
    assert [c["value"] for c in typed] == [sandbox.POST_7_LIKES]
    assert x_sandbox.requests_to(USER_POSTS) == []
