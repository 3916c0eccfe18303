"""The emulator's gateway breaks as Discord's does, and discord.py comes back: a dropped socket, op 7
RECONNECT and op 9 INVALID_SESSION, with RESUME replaying what the bot missed."""

from __future__ import annotations

import json

import aiohttp
import discord

from bot import LikesBot
from tests.botharness import InteractionDriver
from tests.emulator import DiscordEmulator


def bot_may_send(bot: LikesBot, emulator: DiscordEmulator, name: str) -> bool:
    channel = bot.get_channel(int(emulator.channel(name).id))
    assert isinstance(channel, discord.TextChannel)
    return channel.permissions_for(channel.guild.me).send_messages


async def test_a_dropped_socket_is_resumed_and_the_missed_events_are_replayed(
    bot: LikesBot, emulator: DiscordEmulator, driver: InteractionDriver
) -> None:
    (session,) = emulator.sessions
    seq_before = session.sequence
    release = emulator.hold_gateway()
    await emulator.drop_gateway()
    assert not emulator.sessions
    # Dispatched while the bot is away: kept in the session, numbered after what the bot saw.
    await emulator.set_bot_deny(emulator.channel("digests"), discord.Permissions(send_messages=True))
    assert bot_may_send(bot, emulator, "digests")
    release.set()
    await emulator.wait_for_resumes(1)
    (resume,) = emulator.resume_payloads
    assert resume["session_id"] == session.session_id and resume["seq"] == seq_before
    assert len(emulator.identify_payloads) == 1  # resumed, not identified again
    await emulator.wait_until(lambda: not bot_may_send(bot, emulator, "digests"), what="the replayed update")
    # The resumed session carries interactions again.
    assert (await driver.slash("likes status")).embed["title"] == "LikeLens status"


async def test_op_7_reconnect_makes_the_bot_resume(
    bot: LikesBot, emulator: DiscordEmulator, driver: InteractionDriver
) -> None:
    (session,) = emulator.sessions
    await emulator.send_reconnect()
    await emulator.wait_for_resumes(1)
    assert [p["session_id"] for p in emulator.resume_payloads] == [session.session_id]
    assert emulator.sessions == [session] and len(emulator.identify_payloads) == 1
    assert (await driver.slash("likes status")).embed["title"] == "LikeLens status"


async def test_a_resumable_invalid_session_is_resumed(bot: LikesBot, emulator: DiscordEmulator) -> None:
    (session,) = emulator.sessions
    await emulator.invalidate_session(resumable=True)
    await emulator.wait_for_resumes(1)
    assert emulator.sessions == [session] and len(emulator.identify_payloads) == 1


async def test_a_session_invalidated_for_good_makes_the_bot_identify_again(
    bot: LikesBot, emulator: DiscordEmulator, driver: InteractionDriver
) -> None:
    (old,) = emulator.sessions
    await emulator.invalidate_session(resumable=False)
    await emulator.wait_for_readies(2)  # discord.py waits 5 s before a second IDENTIFY
    (new,) = emulator.sessions
    assert new.session_id != old.session_id and emulator.resume_payloads == []
    assert old.session_id not in emulator.gateway.known
    assert (await driver.slash("likes status")).embed["title"] == "LikeLens status"


async def test_a_resume_of_an_unknown_session_is_answered_invalid_session(emulator: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{emulator.port}/") as ws:
        hello = json.loads((await ws.receive()).data)
        assert hello["op"] == 10
        resume = {"token": emulator.token, "session_id": "gone", "seq": 3}
        await ws.send_str(json.dumps({"op": 6, "d": resume}))
        assert json.loads((await ws.receive()).data) == {"op": 9, "d": False}
    assert emulator.gateway.resumes == 0
