"""Discord shards across processes: LikesBots on one PostgreSQL (two on shards 0 and 1 of 2; three
with thirty servers), each answering only its own servers' interactions, once; /healthz and
/metrics of each list its shards.

One emulator holds guilds on both shards (`add_guild(name, shard=(id, 2))`); it routes each
guild's events only to the session of shard `(guild_id >> 22) % 2`, as Discord does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from bot import LikesBot, ShardedLikesBot
from tests import postgres
from tests.botharness import emulator_settings, running_bot
from tests.e2e.digest_support import until
from tests.emulator import DiscordEmulator, Guild
from tests.emulator.sharding import shard_of
from xapi.sandbox import XSandbox

SHARDS = 2
CALLBACK_ROUTE = "/interactions/{interaction_id}/{interaction_token}/callback"


@contextlib.asynccontextmanager
async def processes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, count: int = SHARDS,
) -> AsyncIterator[list[LikesBot]]:
    """count bots as count processes of one deployment would run: one PostgreSQL, one secret key,
    SHARD_COUNT=count, SHARD_IDS=0 … count-1, each with its own folder (alive file, no secret.key)."""
    key = Fernet.generate_key().decode()
    async with postgres.fresh_schema() as url, contextlib.AsyncExitStack() as stack:
        bots = []
        for shard in range(count):
            folder = tmp_path / f"process-{shard}"
            folder.mkdir()
            settings = emulator_settings(
                emulator, x_sandbox.base_url, folder / "likelens.db", database_url=url,
                likelens_secret_key=key, shard_count=count, shard_ids=(shard,),
            )
            bots.append(await stack.enter_async_context(running_bot(emulator, settings)))
        yield bots


@contextlib.asynccontextmanager
async def two_processes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> AsyncIterator[tuple[LikesBot, LikesBot]]:
    """Two bots on shards 0 and 1 of 2 (see processes)."""
    async with processes(emulator, x_sandbox, tmp_path) as (first, second):
        yield first, second


async def slash_in(emulator: DiscordEmulator, guild: Guild, command: str) -> tuple[int, str]:
    """Run command in guild as its owner: how many callbacks Discord got for it, and the answer's title."""
    owner = next(m for m in guild.members if m.user.id == emulator.owner.id)
    interaction = emulator.build_slash(command, {}, member=owner, guild=guild)
    await emulator.send_interaction(interaction)

    def answered() -> bool:
        message_id = interaction.response_message_id
        return message_id is not None and not emulator.messages[message_id].loading

    await emulator.wait_until(answered, within=15, what=f"the answer to /{command} in {guild.name}")
    callbacks = [r for r in emulator.requests_to("POST", CALLBACK_ROUTE) if interaction.id in r.path]
    assert interaction.response_message_id is not None
    message = emulator.messages[interaction.response_message_id]
    return len(callbacks), str(message.embeds[0].get("title", "")) if message.embeds else message.content


async def get(bot: LikesBot, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(bot.web.base_url + path) as response:
        return response.status, await response.text()


def metric(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples of metric name in a scrape, by their labels."""
    return {
        frozenset(sample.labels.items()): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
        if sample.name == name
    }


async def test_each_command_is_answered_once_by_the_process_of_its_servers_shard(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    postgres.require_server()
    on_zero = [emulator.add_guild(f"Shard 0 server {n}", shard=(0, SHARDS)) for n in range(2)]
    on_one = [emulator.add_guild(f"Shard 1 server {n}", shard=(1, SHARDS)) for n in range(2)]
    async with two_processes(emulator, x_sandbox, tmp_path) as (first, second):
        assert {shard_of(g.id, SHARDS) for g in on_zero} == {0}
        assert {shard_of(g.id, SHARDS) for g in on_one} == {1}
        assert {g.id for g in on_one} <= {str(g.id) for g in second.guilds}
        assert not {g.id for g in on_one} & {str(g.id) for g in first.guilds}
        for guild in on_one:
            assert await slash_in(emulator, guild, "likes status") == (1, "LikeLens status")
        assert second.metrics.tally.commands["likes status"] == len(on_one)
        assert first.metrics.tally.commands["likes status"] == 0
        for guild in on_zero:
            assert await slash_in(emulator, guild, "likes status") == (1, "LikeLens status")
        assert first.metrics.tally.commands["likes status"] == len(on_zero)
        assert second.metrics.tally.commands["likes status"] == len(on_one)
        assert first.instance_id != second.instance_id
    identifies = sorted(tuple(p["shard"]) for p in emulator.identify_payloads)
    assert identifies == [(0, SHARDS), (1, SHARDS)]


async def test_three_processes_thirty_servers_each_command_answered_once_by_its_shards_process(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    postgres.require_server()
    guilds = [emulator.add_guild(f"Server {n}", shard=(n % 3, 3)) for n in range(30)]
    async with processes(emulator, x_sandbox, tmp_path, count=3) as bots:
        for guild in guilds:
            assert await slash_in(emulator, guild, "likes status") == (1, "LikeLens status")
        answered = [bot.metrics.tally.commands["likes status"] for bot in bots]
        held = [{str(g.id) for g in bot.guilds} for bot in bots]
    assert answered == [10, 10, 10]
    for shard, ids in enumerate(held):
        assert {g.id for g in guilds if shard_of(g.id, 3) == shard} <= ids
        assert not {g.id for g in guilds if shard_of(g.id, 3) != shard} & ids


async def test_healthz_and_metrics_of_each_process_list_its_shards(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    postgres.require_server()
    emulator.add_guild("Shard 1 server", shard=(1, SHARDS))
    async with two_processes(emulator, x_sandbox, tmp_path) as (first, second):
        status, body = await get(second, "/healthz")
        assert status == 200, body
        assert body.splitlines()[0] == "ok: connected to Discord"
        assert "shard 1 of 2: connected" in body and "shard 0" not in body
        status, body = await get(first, "/healthz")
        assert status == 200 and "shard 0 of 2: connected" in body and "shard 1" not in body

        _, scrape = await get(second, "/metrics")
        assert metric(scrape, "likelens_gateway_shard_connected") == {frozenset({("shard", "1")}): 1}
        assert set(metric(scrape, "likelens_gateway_latency_seconds")) == {frozenset({("shard", "1")})}
        assert metric(scrape, "likelens_gateway_connected") == {frozenset(): 1}

        assert isinstance(second, ShardedLikesBot)
        shard = second.get_shard(1)
        assert shard is not None
        await shard.disconnect()
        status, body = await get(second, "/healthz")
        assert status == 503 and "shard 1 of 2: not connected" in body
        _, scrape = await get(second, "/metrics")
        assert metric(scrape, "likelens_gateway_shard_connected") == {frozenset({("shard", "1")}): 0}
        assert metric(scrape, "likelens_gateway_connected") == {frozenset(): 0}
        assert (await get(first, "/healthz"))[0] == 200


@pytest.mark.parametrize("shard_ids", [None, (0, 1)])
async def test_one_process_may_run_every_shard(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, shard_ids: tuple[int, ...] | None,
) -> None:
    guilds = [emulator.add_guild(f"Shard {n} server", shard=(n, SHARDS)) for n in range(SHARDS)]
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db",
                                 shard_count=SHARDS, shard_ids=shard_ids)
    async with running_bot(emulator, settings) as bot:
        for guild in guilds:
            assert await slash_in(emulator, guild, "likes status") == (1, "LikeLens status")
        status, body = await get(bot, "/healthz")
        assert status == 200 and "shard 0 of 2: connected" in body and "shard 1 of 2: connected" in body
    assert sorted(tuple(p["shard"]) for p in emulator.identify_payloads) == [(0, SHARDS), (1, SHARDS)]


async def test_a_dropped_shard_makes_the_process_unhealthy_until_it_resumes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    emulator.add_guild("Shard 1 server", shard=(1, SHARDS))
    alive = tmp_path / "likelens-shards-0-1.alive"
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db", shard_count=SHARDS)
    async with running_bot(emulator, settings, alive_file=alive) as bot:
        await until(alive.exists, "the alive file once every shard is ready")
        reconnect = emulator.hold_gateway()
        await emulator.drop_gateway()
        await until(lambda: not bot.gateway_connected(), "the process to see its shards drop")
        status, body = await get(bot, "/healthz")
        assert status == 503 and "not connected" in body
        assert not alive.exists()
        reconnect.set()
        await emulator.wait_for_resumes(SHARDS)
        await until(bot.gateway_connected, "every shard to be back")
        status, body = await get(bot, "/healthz")
        assert status == 200 and body.count(f" of {SHARDS}: connected") == SHARDS, body
        assert alive.exists()
    assert not alive.exists()
