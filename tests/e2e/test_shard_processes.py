"""`python bot.py` on shards, as an operator runs it: a shard Discord refuses (4010) is one clear
line and exit 2; two processes on one machine, one PostgreSQL, keep an alive file each, and
`--healthcheck` reads the one of the SHARD_IDS in its environment.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from launcher import alive_file_for
from tests import postgres
from tests.botharness import emulator_settings, running_bot
from tests.e2e.test_process import OAUTH1, REPO, bot_process, child_env
from tests.emulator import DiscordEmulator
from web.alive_file import shard_ids_in
from xapi.sandbox import XSandbox


def test_each_shard_set_has_its_own_alive_file_beside_the_database(tmp_path: Path) -> None:
    database = tmp_path / "likelens.db"
    assert alive_file_for(database) == tmp_path / "likelens.alive"
    assert alive_file_for(database, (0, 1)) == tmp_path / "likelens-shards-0-1.alive"
    assert alive_file_for(database, (1,)) == tmp_path / "likelens-shards-1.alive"


def test_the_healthcheck_reads_shard_ids_as_the_bot_does() -> None:
    assert shard_ids_in({"SHARD_COUNT": "4", "SHARD_IDS": " 3, 1,1 "}) == (1, 3)
    assert shard_ids_in({"SHARD_COUNT": "4"}) is None  # one process runs them all: likelens.alive
    assert shard_ids_in({"SHARD_IDS": "1"}) is None  # the bot refuses to start: no file of its own
    assert shard_ids_in({"SHARD_COUNT": "4", "SHARD_IDS": "one"}) is None
    assert shard_ids_in({"SHARD_COUNT": "4", "SHARD_IDS": "  "}) is None


async def test_a_shard_discord_refuses_is_one_clear_line_and_exit_2(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    # A process already runs shard 0 of 2; this one was started with another SHARD_COUNT.
    running = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "first" / "likelens.db",
                                shard_count=2, shard_ids=(0,))
    (tmp_path / "first").mkdir()
    async with running_bot(emulator, running):
        env = child_env(
            emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
            DATABASE_PATH=str(tmp_path / "second" / "likelens.db"), SHARD_COUNT="3", SHARD_IDS="2",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    refusals = [line for line in text.splitlines() if "4010" in line]
    assert process.returncode == 2, text
    assert len(refusals) == 1, text
    assert "shard 2 of 3" in refusals[0] and "SHARD_COUNT" in refusals[0] and "SHARD_IDS" in refusals[0]
    assert "Traceback" not in text


async def test_an_unsharded_bot_discord_requires_to_shard_is_told_to_set_shard_count(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    emulator.add_guild("Another server")
    emulator.sharding.max_guilds_per_shard = 1  # two servers: more than one unsharded connection may hold
    env = child_env(
        emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
        DATABASE_PATH=str(tmp_path / "data" / "likelens.db"),
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    refusals = [line for line in text.splitlines() if "4011" in line]
    assert process.returncode == 2, text
    assert len(refusals) == 1 and "set SHARD_COUNT" in refusals[0] and "higher" not in refusals[0], text
    assert "Traceback" not in text


async def healthcheck(env: dict[str, str], cwd: Path, shard_ids: str) -> int:
    check = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), "--healthcheck", cwd=cwd, env={**env, "SHARD_IDS": shard_ids},
    )
    return await asyncio.wait_for(check.wait(), 30)


async def test_two_shard_processes_on_one_machine_keep_an_alive_file_each(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    postgres.require_server()
    folder = tmp_path / "data"
    async with postgres.fresh_schema() as url:
        env = child_env(
            emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
            DATABASE_PATH=str(folder / "likelens.db"), DATABASE_URL=url,
            LIKELENS_SECRET_KEY=Fernet.generate_key().decode(), SHARD_COUNT="2",
        )
        async with bot_process(tmp_path, {**env, "SHARD_IDS": "0"}) as first, \
                bot_process(tmp_path, {**env, "SHARD_IDS": "1"}) as second:
            await first.wait_for_log("Ready as LikeLens", within=60)
            await second.wait_for_log("Ready as LikeLens", within=60)
            assert "on shard 0 of 2" in first.text and "on shard 1 of 2" in second.text
            for shard in ("0", "1"):
                for _ in range(100):
                    if (folder / f"likelens-shards-{shard}.alive").exists():
                        break
                    await asyncio.sleep(0.05)
            assert await healthcheck(env, tmp_path, "0") == 0
            assert await healthcheck(env, tmp_path, "1") == 0
            assert await second.stop() == 0
            # The stopped process's file went with it; the running one's stayed.
            assert await healthcheck(env, tmp_path, "1") == 1
            assert await healthcheck(env, tmp_path, "0") == 0
            assert await first.stop() == 0
        assert "Traceback" not in first.text + second.text
    assert sorted(p.name for p in folder.glob("*.alive")) == []
