"""The emulator speaks Discord's sharding: GET /gateway/bot, IDENTIFY's shard, each guild's events
only to its shard's session, 4010/4011 as Discord closes them.

Proved with discord.py's own AutoShardedBot: two "processes" (shards [0, 1] and [2] of 3) each see
exactly their guilds, and an interaction in a guild of shard 2 reaches only the second bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from tests.botharness import discord_pointed_at
from tests.emulator import DiscordEmulator, Guild
from tests.emulator.sharding import guild_of, shard_of


class ShardedProbe(commands.AutoShardedBot):
    """A bare AutoShardedBot that answers /ping and records the interactions and every guild's
    gateway events it received (raw, before discord.py drops those of guilds it does not know)."""

    def __init__(self, shard_ids: list[int]) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), shard_count=3, shard_ids=shard_ids,
            enable_debug_events=True,
        )
        self.received: list[str] = []
        self.events: list[tuple[str, str | None]] = []

        @self.tree.command(name="ping", description="Which process answers")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"pong from shards {self.shard_ids}")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self.received.append(str(interaction.guild_id))

    async def on_socket_raw_receive(self, raw: str) -> None:
        frame = json.loads(raw)
        if frame.get("t"):
            self.events.append((frame["t"], guild_of(frame["t"], frame["d"])))

    def guilds_heard(self, event: str) -> set[str | None]:
        return {guild for name, guild in self.events if name == event}


@contextlib.asynccontextmanager
async def running(emulator: DiscordEmulator, bot: ShardedProbe) -> AsyncIterator[ShardedProbe]:
    runner = asyncio.create_task(bot.start(emulator.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 20)
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


def guilds_on(emulator: DiscordEmulator, *shards: int) -> set[str]:
    return {g.id for g in emulator.guilds if shard_of(g.id, 3) in shards}


async def ping(emulator: DiscordEmulator, guild: Guild) -> str:
    owner = next(m for m in guild.members if m.user.id == emulator.owner.id)
    interaction = emulator.build_slash("ping", {}, member=owner, guild=guild)
    await emulator.send_interaction(interaction)
    await emulator.wait_until(lambda: interaction.acknowledged, what="an answer to /ping")
    assert interaction.response_message_id is not None
    return emulator.messages[interaction.response_message_id].content


async def test_two_sharded_processes_each_get_only_their_guilds_and_interactions() -> None:
    async with DiscordEmulator() as emulator:
        emulator.sharding.recommended_shards = 3
        first, second, third = (emulator.add_guild(f"Shard {n}", shard=(n, 3)) for n in range(3))
        with discord_pointed_at(emulator):
            async with running(emulator, ShardedProbe([0, 1])) as front, \
                    running(emulator, ShardedProbe([2])) as back:
                await front.tree.sync()
                assert {str(g.id) for g in front.guilds} == guilds_on(emulator, 0, 1)
                assert {str(g.id) for g in back.guilds} == guilds_on(emulator, 2)
                assert front.guilds_heard("GUILD_CREATE") == guilds_on(emulator, 0, 1)
                assert back.guilds_heard("GUILD_CREATE") == guilds_on(emulator, 2)

                await emulator.set_bot_deny(first.channel("general"), discord.Permissions(embed_links=True))
                await emulator.set_bot_deny(third.channel("general"), discord.Permissions(embed_links=True))
                assert await ping(emulator, third) == "pong from shards [2]"
                # Later interactions reach front after anything sent to it before on the same socket.
                assert await ping(emulator, first) == "pong from shards [0, 1]"
                assert await ping(emulator, second) == "pong from shards [0, 1]"
                assert front.received == [first.id, second.id]
                assert back.received == [third.id]
                assert front.guilds_heard("CHANNEL_UPDATE") == {first.id}
                assert back.guilds_heard("CHANNEL_UPDATE") == {third.id}
                assert front.guilds_heard("INTERACTION_CREATE") == {first.id, second.id}
    readies = [f for f in emulator.gateway_frames if f.get("op") == 2]
    assert sorted(tuple(f["d"]["shard"]) for f in readies) == [(0, 3), (1, 3), (2, 3)]


async def gateway_bot(emulator: DiscordEmulator) -> dict[str, Any]:
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with aiohttp.ClientSession() as http, \
            http.get(f"{emulator.base_url}/api/v10/gateway/bot", headers=headers) as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def identify(emulator: DiscordEmulator, shard: list[int] | None) -> tuple[int | None, Any]:
    """One raw IDENTIFY; the close code (None if READY came) and READY's payload."""
    d: dict[str, Any] = {"token": emulator.token, "intents": 1, "properties": {}}
    if shard is not None:
        d["shard"] = shard
    async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{emulator.port}/") as ws:
        await ws.receive_json()  # HELLO
        await ws.send_str(json.dumps({"op": 2, "d": d}))
        frame = await ws.receive()
        if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            return ws.close_code, None
        ready = json.loads(frame.data)
        assert ready["t"] == "READY"
        await ws.close()
        return None, ready["d"]


async def test_gateway_bot_recommends_the_shard_count_and_spends_a_session_start_per_identify() -> None:
    async with DiscordEmulator() as emulator:
        emulator.sharding.recommended_shards = 4
        before = await gateway_bot(emulator)
        assert before["shards"] == 4 and before["url"].startswith("ws://127.0.0.1:")
        assert before["session_start_limit"] == {
            "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1,
        }
        code, ready = await identify(emulator, [1, 4])
        assert code is None and ready["shard"] == [1, 4]
        assert (await gateway_bot(emulator))["session_start_limit"]["remaining"] == 999


async def test_ready_lists_only_the_guilds_of_its_shard() -> None:
    async with DiscordEmulator() as emulator:
        mine = emulator.add_guild("On shard 1", shard=(1, 2))
        other = emulator.add_guild("On shard 0", shard=(0, 2))
        code, ready = await identify(emulator, [1, 2])
        assert code is None
        listed = {g["id"] for g in ready["guilds"]}
        assert mine.id in listed and other.id not in listed
        assert listed == {g.id for g in emulator.guilds if shard_of(g.id, 2) == 1}


@pytest.mark.parametrize("shard", [[3, 3], [-1, 2], [0, 0]])
async def test_a_shard_outside_its_count_is_closed_with_4010(shard: list[int]) -> None:
    async with DiscordEmulator() as emulator:
        assert await identify(emulator, shard) == (4010, None)


async def test_a_shard_count_other_than_the_live_sessions_count_is_closed_with_4010() -> None:
    async with DiscordEmulator() as emulator, aiohttp.ClientSession() as http, \
                http.ws_connect(f"ws://127.0.0.1:{emulator.port}/") as live:
        await live.receive_json()
        await live.send_str(json.dumps({"op": 2, "d": {
            "token": emulator.token, "intents": 1, "properties": {}, "shard": [0, 2]}}))
        assert (await live.receive_json())["t"] == "READY"
        assert await identify(emulator, [1, 3]) == (4010, None)
        code, _ = await identify(emulator, [1, 2])
        assert code is None


async def test_an_unsharded_identify_with_too_many_guilds_for_one_shard_is_closed_with_4011() -> None:
    async with DiscordEmulator() as emulator:
        assert emulator.sharding.max_guilds_per_shard is None  # by default, sharding is never required
        emulator.add_guild("On shard 0", shard=(0, 2))
        emulator.add_guild("On shard 1", shard=(1, 2))
        per_shard = max(len(guilds_of_shard(emulator, n, 2)) for n in range(2))
        emulator.sharding.max_guilds_per_shard = per_shard
        assert await identify(emulator, None) == (4011, None)
        code, ready = await identify(emulator, [0, 2])
        assert code is None and ready["shard"] == [0, 2]


def guilds_of_shard(emulator: DiscordEmulator, shard_id: int, count: int) -> list[Guild]:
    return [g for g in emulator.guilds if shard_of(g.id, count) == shard_id]
