"""The emulator refuses, limits and expires what Discord does: rate limits, interaction tokens,
message ownership and ephemeral visibility (proved with the real discord.py client)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest
import pytest_asyncio
from discord import app_commands

from bot import LikesBot
from tests.botharness import InteractionDriver
from tests.emulator import DiscordEmulator
from tests.emulator.ratelimits import Limit, RateLimits
from tests.emulator.server import API, WEBHOOK_MESSAGE

MESSAGES = ("POST", "/channels/{channel_id}/messages")
CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
FOLLOWUP = ("POST", "/webhooks/{webhook_id}/{webhook_token}")
EDIT_ORIGINAL = ("PATCH", WEBHOOK_MESSAGE)
LIMIT_HEADERS = (
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


def text_channel(bot: LikesBot, emulator: DiscordEmulator, name: str) -> discord.TextChannel:
    channel = bot.get_channel(int(emulator.channel(name).id))
    assert isinstance(channel, discord.TextChannel)
    return channel


@pytest_asyncio.fixture
async def raw(emulator: DiscordEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client with the bot's token, to see Discord's answers as they are."""
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with aiohttp.ClientSession(base_url=emulator.base_url, headers=headers) as session:
        yield session


async def kept(bot: LikesBot, name: str) -> list[discord.Interaction]:
    """A /name command that answers ephemerally with its name and keeps its interactions."""
    seen: list[discord.Interaction] = []

    @app_commands.command(name=name, description="Keeps its interaction")
    async def command(interaction: discord.Interaction) -> None:
        seen.append(interaction)
        await interaction.response.send_message(f"{name} {len(seen)}", ephemeral=True)

    bot.tree.add_command(command)
    await bot.tree.sync()
    return seen


# ----------------------------------------------------------------- rate limits
async def test_every_route_the_bot_uses_answers_with_discords_rate_limit_headers(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    await driver.slash("likes status")
    await text_channel(bot, emulator, "digests").send("hello")
    routes = {(r.method, r.route) for r in emulator.requests if r.status < 300}
    assert {CALLBACK, EDIT_ORIGINAL, MESSAGES} <= routes
    for request in emulator.requests:
        if request.status < 300:
            assert set(LIMIT_HEADERS) <= set(request.response_headers), request.route


async def test_a_bucket_past_its_limit_answers_429_per_channel(
    raw: aiohttp.ClientSession, emulator: DiscordEmulator
) -> None:
    emulator.rate_limiter.limits = RateLimits(Limit(50, 1.0), Limit(50, 1.0), {MESSAGES: Limit(2, 60.0)})
    general, digests = emulator.channel("general"), emulator.channel("digests")
    statuses = []
    for _ in range(3):
        async with raw.post(f"{API}/channels/{general.id}/messages", json={"content": "hi"}) as answer:
            statuses.append(answer.status)
            last_headers, last_body = answer.headers, await answer.json()
    assert statuses == [200, 200, 429]
    assert last_headers["Via"] and last_headers["X-RateLimit-Scope"] == "user"
    assert last_headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Global" not in last_headers
    assert last_body["global"] is False and 59 < last_body["retry_after"] <= 60
    # Another channel is another bucket (channel_id is a top-level resource).
    async with raw.post(f"{API}/channels/{digests.id}/messages", json={"content": "hi"}) as answer:
        assert answer.status == 200 and answer.headers["X-RateLimit-Remaining"] == "1"
    assert len(emulator.history(general)) == 2
    # The window is on the emulator's clock: a minute later the bucket is full again.
    emulator.clock.advance(minutes=1)
    async with raw.post(f"{API}/channels/{general.id}/messages", json={"content": "hi"}) as answer:
        assert answer.status == 200


async def test_discord_py_paces_itself_by_the_headers_and_meets_no_429(
    bot: LikesBot, emulator: DiscordEmulator
) -> None:
    emulator.rate_limiter.limits = RateLimits(Limit(50, 1.0), Limit(50, 1.0), {MESSAGES: Limit(2, 0.3)})
    channel = text_channel(bot, emulator, "digests")
    for n in range(3):
        await channel.send(f"message {n}")
    sends = emulator.requests_to(*MESSAGES)
    assert [r.status for r in sends] == [200, 200, 200]
    # The third waited for the bucket to reset (discord.py read Remaining: 0 and Reset-After).
    assert sends[2].at - sends[0].at >= 0.3


async def test_the_global_limit_answers_429_global_but_spares_interaction_callbacks(
    bot: LikesBot, raw: aiohttp.ClientSession, emulator: DiscordEmulator, driver: InteractionDriver
) -> None:
    emulator.rate_limiter.limits = RateLimits(Limit(2, 60.0), Limit(50, 60.0))
    interaction = emulator.build_slash("likes status", {}, member=driver.moderator)
    channel = emulator.channel("general")
    statuses = []
    for _ in range(3):
        async with raw.get(f"{API}/channels/{channel.id}") as answer:
            statuses.append(answer.status)
            last_headers, last_body = answer.headers, await answer.json()
    assert statuses == [200, 200, 429]
    assert last_headers["X-RateLimit-Global"] == "true" and last_headers["X-RateLimit-Scope"] == "global"
    assert last_body["global"] is True and last_body["retry_after"] > 0
    callback = f"{API}/interactions/{interaction.id}/{interaction.token}/callback"
    async with raw.post(callback, json={"type": 4, "data": {"content": "still answered"}}) as answer:
        assert answer.status == 204


async def test_a_forced_429_on_a_callback_and_a_webhook_edit_is_waited_out_by_discord_py(
    driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    emulator.rate_limit_next(*CALLBACK, retry_after=0.05)
    emulator.rate_limit_next(*EDIT_ORIGINAL, retry_after=0.05, scope="shared")
    result = await driver.slash("likes status")
    await emulator.wait_until(lambda: not result.response.loading, what="the edited answer")
    callbacks = [r for r in result.requests if r.route == CALLBACK[1]]
    edits = [r for r in result.requests if r.route == EDIT_ORIGINAL[1]]
    assert [r.status for r in callbacks] == [429, 200] and [r.status for r in edits[:2]] == [429, 200]
    assert edits[0].response_headers["X-RateLimit-Scope"] == "shared"
    assert edits[0].response == {
        "message": "You are being rate limited.", "retry_after": 0.05, "global": False
    }
    assert result.embed["title"] == "LikeLens status" and not result.response.loading


async def test_discords_own_limits_five_sends_per_channel_and_fifty_requests_a_second(
    raw: aiohttp.ClientSession, emulator: DiscordEmulator
) -> None:
    emulator.rate_limiter.limits = RateLimits.discord()
    general, digests = emulator.channel("general"), emulator.channel("digests")
    sends = []
    for _ in range(6):
        async with raw.post(f"{API}/channels/{general.id}/messages", json={"content": "hi"}) as answer:
            sends.append((answer.status, answer.headers["X-RateLimit-Limit"]))
    assert sends == [(200, "5")] * 5 + [(429, "5")]
    async with raw.post(f"{API}/channels/{digests.id}/messages", json={"content": "hi"}) as answer:
        assert answer.status == 200
    statuses = []
    for _ in range(50 - 7 + 1):  # 7 requests so far (the 429 counted too): the 51st is over
        async with raw.get(f"{API}/channels/{general.id}") as answer:
            statuses.append(answer.status)
            scope = answer.headers.get("X-RateLimit-Scope")
    assert statuses[-2:] == [200, 429] and scope == "global"


async def test_a_forced_global_429_makes_discord_py_wait_and_retry(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    emulator.rate_limit_globally(retry_after=0.05)
    # Interaction endpoints are not bound to the global limit: the callback passes, the send waits.
    assert (await driver.slash("likes status")).callback_type == 5
    assert emulator.requests_to(*CALLBACK)[0].status == 200
    sent = await text_channel(bot, emulator, "digests").send("after a global limit")
    first, second = emulator.requests_to(*MESSAGES)
    assert (first.status, first.response["global"], first.response_headers["X-RateLimit-Global"]) == (
        429, True, "true"
    )
    assert second.status == 200 and second.at - first.at >= 0.05
    assert [m.id for m in emulator.history(emulator.channel("digests"))] == [str(sent.id)]


# ----------------------------------------------------------------- interaction deadlines
async def test_a_callback_after_three_seconds_is_an_unknown_interaction(
    driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    release = emulator.hold_next(*CALLBACK)
    interaction = emulator.build_slash("likes status", {}, member=driver.moderator)
    await emulator.send_interaction(interaction)
    await emulator.wait_until(lambda: bool(emulator.requests_to(*CALLBACK)), what="the callback")
    emulator.clock.advance(seconds=3.1)
    release.set()
    await emulator.wait_until(lambda: emulator.requests_to(*CALLBACK)[0].status != 0, what="the answer")
    (callback,) = emulator.requests_to(*CALLBACK)
    assert callback.status == 404 and callback.response["code"] == 10062
    assert not interaction.acknowledged
    await driver.settle()


async def test_the_token_works_for_15_minutes_then_answers_401_invalid_webhook_token(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    seen = await kept(bot, "keep")
    await driver.slash("keep")
    (interaction,) = seen
    emulator.clock.advance(minutes=14, seconds=59)
    await interaction.edit_original_response(content="still mine")
    await interaction.followup.send("a follow-up", ephemeral=True)
    emulator.clock.advance(seconds=2)
    for late in (
        interaction.edit_original_response(content="too late"),
        interaction.followup.send("too late", ephemeral=True),
        interaction.original_response(),
        interaction.delete_original_response(),
    ):
        with pytest.raises(discord.HTTPException) as refused:
            await late
        assert (refused.value.status, refused.value.code) == (401, 50027)
    assert interaction.response.is_done()
    original = emulator.messages[str(emulator.interactions[str(interaction.id)].response_message_id)]
    assert original.content == "still mine" and not original.deleted


# ----------------------------------------------------------------- message ownership
async def test_a_token_reaches_only_its_own_interactions_messages(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    seen = await kept(bot, "keep")
    await driver.slash("keep")
    await driver.slash("keep")
    first, second = seen
    first_message = await first.original_response()
    own = await first.followup.send("first's follow-up", ephemeral=True, wait=True)
    await first.followup.edit_message(own.id, content="edited by its own token")
    for foreign in (
        second.followup.edit_message(first_message.id, content="not yours"),
        second.followup.fetch_message(first_message.id),
        second.followup.delete_message(own.id),
    ):
        with pytest.raises(discord.NotFound) as refused:
            await foreign
        assert refused.value.code == 10008
    assert emulator.messages[str(first_message.id)].content == "keep 1"
    assert emulator.messages[str(own.id)].content == "edited by its own token"


async def test_the_bot_edits_only_its_own_channel_messages(bot: LikesBot, emulator: DiscordEmulator) -> None:
    channel = text_channel(bot, emulator, "general")
    human = emulator.post_as(emulator.member("alice"), emulator.channel("general"), "my message")
    theirs = channel.get_partial_message(int(human.id))
    with pytest.raises(discord.Forbidden) as refused:
        await theirs.edit(content="rewritten by the bot")
    assert refused.value.code == 50005
    with pytest.raises(discord.Forbidden) as no_manage:
        await theirs.delete()
    assert no_manage.value.code == 50013
    mine = await channel.send("the bot's")
    await mine.edit(content="the bot's, edited")
    assert human.content == "my message" and not human.deleted
    assert emulator.messages[str(mine.id)].content == "the bot's, edited"


# ----------------------------------------------------------------- ephemeral visibility
async def test_an_ephemeral_answer_is_seen_only_by_its_user(
    bot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    seen = await kept(bot, "keep")
    result = await driver.slash("keep")
    answer = result.response
    assert answer.ephemeral
    general = emulator.channel("general")
    channel = text_channel(bot, emulator, "general")
    assert [m.id async for m in channel.history()] == []
    with pytest.raises(discord.NotFound) as refused:
        await channel.fetch_message(int(answer.id))
    assert refused.value.code == 10008
    # Its own token still reads it, as the user's client does.
    assert (await seen[0].original_response()).content == "keep 1"
    assert emulator.seen_by(driver.moderator, general) == [answer]
    assert emulator.seen_by(emulator.member("bystander"), general) == []
    assert emulator.history(general) == []
