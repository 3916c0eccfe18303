"""The Discord emulator behaves as Discord does for what LikeLens relies on (proved with discord.py)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot import LikesBot
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox


def text_channel(bot: LikesBot, emulator: DiscordEmulator, name: str) -> discord.TextChannel:
    channel = bot.get_channel(int(emulator.channel(name).id))
    assert isinstance(channel, discord.TextChannel)
    return channel


async def test_a_channel_message_with_an_embed_is_stored(bot: LikesBot, emulator: DiscordEmulator) -> None:
    sent = await text_channel(bot, emulator, "digests").send(embed=discord.Embed(title="New likes"))
    (stored,) = emulator.messages_in(emulator.channel("digests"))
    assert stored.id == str(sent.id) and stored.embed["title"] == "New likes"


async def test_a_payload_discord_would_refuse_is_refused_with_400(
    bot: LikesBot, emulator: DiscordEmulator
) -> None:
    with pytest.raises(discord.HTTPException) as refused:
        await text_channel(bot, emulator, "general").send(embed=discord.Embed(title="x" * 300))
    assert refused.value.status == 400 and refused.value.code == 50035
    assert "title" in str(refused.value)
    assert emulator.messages_in(emulator.channel("general")) == []


async def test_enforce_nonce_returns_the_first_message_instead_of_a_second(
    bot: LikesBot, emulator: DiscordEmulator
) -> None:
    channel = text_channel(bot, emulator, "digests")
    first = await channel.send("digest #1", nonce="digest-1-run-7")
    again = await channel.send("digest #1", nonce="digest-1-run-7")
    other = await channel.send("digest #1", nonce="digest-1-run-8")
    assert again.id == first.id != other.id
    assert len(emulator.messages_in(emulator.channel("digests"))) == 2


async def test_missing_permissions_are_known_to_the_bot_and_refused_with_403(
    emulator: DiscordEmulator, bot: LikesBot
) -> None:
    locked = emulator.channel("digests")
    await emulator.set_bot_deny(locked, discord.Permissions(send_messages=True))
    channel = text_channel(bot, emulator, "digests")
    for _ in range(500):  # the CHANNEL_UPDATE travels over the gateway
        if not channel.permissions_for(channel.guild.me).send_messages:
            break
        await asyncio.sleep(0.01)
    assert not channel.permissions_for(channel.guild.me).send_messages
    with pytest.raises(discord.Forbidden) as refused:
        await channel.send("hello")
    assert refused.value.code == 50013


async def test_a_deleted_channel_answers_404_unknown_channel(
    bot: LikesBot, emulator: DiscordEmulator
) -> None:
    channel = text_channel(bot, emulator, "digests")
    await emulator.delete_channel(emulator.channel("digests"))
    with pytest.raises(discord.NotFound) as refused:
        await channel.send("hello")
    assert refused.value.code == 10003


async def test_files_arrive_through_multipart(bot: LikesBot, emulator: DiscordEmulator) -> None:
    csv = b"id,username\n1,alice\n"
    attachment = discord.File(io.BytesIO(csv), "likers.csv")
    await text_channel(bot, emulator, "general").send("export", file=attachment)
    (stored,) = emulator.messages_in(emulator.channel("general"))
    assert stored.files == {"likers.csv": csv}
    assert stored.data["attachments"][0]["filename"] == "likers.csv"


async def test_direct_messages(bot: LikesBot, emulator: DiscordEmulator) -> None:
    member = emulator.member("alice")
    dm = await bot.create_dm(discord.Object(int(member.user.id)))
    await dm.send("your export is ready")
    (stored,) = emulator.messages_in(str(dm.id))
    assert stored.content == "your export is ready"


class Pager(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.page = 1

    @discord.ui.button(label="Next", custom_id="demo:next")
    async def next_page(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.page += 1
        await interaction.response.edit_message(content=f"page {self.page}", view=self)


async def test_defer_edit_follow_up_and_a_click_on_the_view(bot: LikesBot, driver: InteractionDriver) -> None:
    @app_commands.command(name="demo", description="Defer, edit, follow up")
    async def demo(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.edit_original_response(content="page 1", view=Pager())
        await interaction.followup.send("done", ephemeral=True)

    bot.tree.add_command(demo)
    await bot.tree.sync()
    result = await driver.slash("demo")
    assert result.callback_type == 5
    assert result.content == "page 1" and result.ephemeral and not result.response.loading
    assert [m.content for m in result.followups] == ["done"]
    clicked = await driver.click(result, "demo:next")
    assert clicked.callback_type == 7
    assert result.response.content == "page 2" == clicked.response.content


async def test_injected_failures_reach_discord_py_as_discord_would_send_them(
    bot: LikesBot, emulator: DiscordEmulator
) -> None:
    channel = text_channel(bot, emulator, "digests")
    emulator.fail_next("POST", "/channels/{channel_id}/messages", 429, retry_after=0.01)
    sent = await channel.send("after a rate limit")  # discord.py waits retry_after and retries
    statuses = [r.status for r in emulator.requests_to("POST", "/channels/{channel_id}/messages")]
    assert statuses == [429, 200] and emulator.messages[str(sent.id)].content == "after a rate limit"
    emulator.fail_next("POST", "/channels/{channel_id}/messages", 403, code=50001, message="Missing Access")
    with pytest.raises(discord.Forbidden):
        await channel.send("refused")


async def test_a_callback_later_than_discords_deadline_is_an_unknown_interaction(
    bot: LikesBot, emulator: DiscordEmulator, driver: InteractionDriver
) -> None:
    emulator.callback_deadline = 0.0
    interaction = emulator.build_slash("likes status", {}, member=driver.moderator)
    await emulator.send_interaction(interaction)
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    await emulator.wait_until(lambda: bool(emulator.requests_to("POST", callback)))
    (request,) = emulator.requests_to("POST", callback)
    assert request.status == 404 and request.response["code"] == 10062
    assert not interaction.acknowledged
    await driver.settle()


async def test_a_second_acknowledgement_is_refused(bot: LikesBot, driver: InteractionDriver) -> None:
    second: list[discord.HTTPException] = []

    @app_commands.command(name="twice", description="Answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        route = discord.http.Route(
            "POST", "/interactions/{interaction_id}/{interaction_token}/callback",
            interaction_id=interaction.id, interaction_token=interaction.token,
        )
        try:
            await bot.http.request(route, json={"type": 4, "data": {"content": "second"}})
        except discord.HTTPException as error:
            second.append(error)

    bot.tree.add_command(twice)
    await bot.tree.sync()
    result = await driver.slash("twice")
    assert result.content == "first"
    assert [e.code for e in second] == [40060]


async def test_channel_overwrites_in_guild_create_give_the_bot_its_permissions(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    locked = emulator.add_channel("announcements", bot_deny=discord.Permissions(send_messages=True))
    hidden = emulator.add_channel("staff", bot_deny=discord.Permissions(view_channel=True))
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as bot:
        announcements = text_channel(bot, emulator, locked.name)
        mine = announcements.permissions_for(announcements.guild.me)
        assert mine.view_channel and mine.read_message_history and not mine.send_messages
        staff = text_channel(bot, emulator, hidden.name)
        assert not staff.permissions_for(staff.guild.me).view_channel
        with pytest.raises(discord.Forbidden) as refused:
            await staff.send("hello")
        assert refused.value.code == 50001
