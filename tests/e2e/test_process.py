"""`python bot.py` exactly as a user starts it, as a subprocess, against the emulator and the sandbox.

tests/emulator/subprocess_site/sitecustomize.py points the child's discord.py at the emulator; the
child runs in tmp_path with only the variables given here (no .env of the developer leaks in).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "tests" / "emulator" / "subprocess_site"
OAUTH1 = {
    "X_API_KEY": sandbox.SANDBOX_API_KEY, "X_API_SECRET": sandbox.SANDBOX_API_SECRET,
    "X_ACCESS_TOKEN": sandbox.SANDBOX_ACCESS_TOKEN,
    "X_ACCESS_TOKEN_SECRET": sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
}


def child_env(emulator: DiscordEmulator, **variables: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SITE),
        "LIKELENS_DISCORD_EMULATOR": emulator.base_url, "PYTHONUNBUFFERED": "1",
        # The bot's web server on a free port: never 8080, which another run may hold.
        "WEB_PORT": "0", **variables,
    }


class BotProcess:
    """A running `python bot.py`; its stderr (the log) is collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode(errors="replace"))

    @property
    def text(self) -> str:
        return "".join(self.log)

    async def wait_for_log(self, fragment: str, within: float = 20.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while fragment not in self.text:
            if self.process.returncode is not None or loop.time() > deadline:
                raise AssertionError(f"{fragment!r} never logged; log:\n{self.text}")
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 20)
        await self._reader
        return code


@contextlib.asynccontextmanager
async def bot_process(cwd: Path, env: dict[str, str], *args: str) -> AsyncIterator[BotProcess]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        # A common permissive umask, so the file modes the bot sets are its own doing.
        umask=0o022,
    )
    running = BotProcess(process)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def answer_to_a_command(emulator: DiscordEmulator) -> str:
    """The title of /likes status's answer, once the deferred response was edited."""
    interaction = emulator.build_slash("likes status", {}, member=emulator.member())
    await emulator.send_interaction(interaction)

    def answered() -> bool:
        message_id = interaction.response_message_id
        return message_id is not None and not emulator.messages[message_id].loading

    await emulator.wait_until(answered, within=10, what="the answer to /likes status")
    assert interaction.response_message_id is not None
    message = emulator.messages[interaction.response_message_id]
    return str(message.embeds[0].get("title", "")) if message.embeds else message.content


async def test_python_bot_py_reaches_ready_answers_and_stops_cleanly(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    env = child_env(
        emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_BEARER_TOKEN=sandbox.SANDBOX_BEARER_TOKEN,
        X_API_BASE_URL=x_sandbox.base_url, DATABASE_PATH=str(tmp_path / "db" / "likelens.db"),
        LOG_LEVEL="DEBUG",
    )
    async with bot_process(tmp_path, env) as bot:
        await bot.wait_for_log("Ready as LikeLens")
        assert await answer_to_a_command(emulator) == "LikeLens status"
        assert await bot.stop() == 0
    assert len(emulator.requests_to("PUT", "/applications/{application_id}/commands")) == 1
    assert (tmp_path / "db" / "likelens.db").exists()
    # The database holds X tokens and who liked what: only the bot's user may read it.
    assert stat.S_IMODE((tmp_path / "db").stat().st_mode) == 0o700
    database_files = sorted(p.name for p in (tmp_path / "db").iterdir())
    assert "likelens.db" in database_files
    for name in database_files:
        assert stat.S_IMODE((tmp_path / "db" / name).stat().st_mode) == 0o600, name
    # DEBUG logs every HTTP exchange and gateway event: still no secret in them.
    secrets = [emulator.token, *OAUTH1.values(), sandbox.SANDBOX_BEARER_TOKEN]
    leaked = [s for s in secrets if s in bot.text]
    assert not leaked, f"secrets in the log: {leaked}"
    assert "Traceback" not in bot.text


async def test_python_bot_py_sandbox_needs_only_the_discord_token(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    env = child_env(emulator, DISCORD_TOKEN=emulator.token)
    async with bot_process(tmp_path, env, "--sandbox") as bot:
        await bot.wait_for_log("Ready as LikeLens")
        assert "SANDBOX MODE: X data is SIMULATED" in bot.text
        assert await answer_to_a_command(emulator)
        # The container's HEALTHCHECK: healthy while connected (alive file beside data/likelens.db).
        check = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "bot.py"), "--healthcheck", cwd=tmp_path, env=env
        )
        assert await check.wait() == 0
        assert await bot.stop() == 0
    assert (tmp_path / "data" / "likelens.db").exists()


async def test_a_database_folder_that_exists_keeps_its_mode_and_the_database_is_made_private(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    # The folder may be a volume or the working directory: LikeLens neither loosens nor takes it over.
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    # A database an older LikeLens left readable by everyone (an empty file is an empty database).
    (folder / "likelens.db").touch()
    (folder / "likelens.db").chmod(0o644)
    env = child_env(
        emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
        DATABASE_PATH=str(folder / "likelens.db"),
    )
    async with bot_process(tmp_path, env) as bot:
        await bot.wait_for_log("Ready as LikeLens")
        wal = folder / "likelens.db-wal"
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert await bot.stop() == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert stat.S_IMODE((folder / "likelens.db").stat().st_mode) == 0o600


async def test_a_second_bot_on_the_same_database_exits_2_and_the_first_runs_on(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    database = tmp_path / "data" / "likelens.db"
    env = child_env(
        emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
        DATABASE_PATH=str(database),
    )
    async with bot_process(tmp_path, env) as first:
        await first.wait_for_log("Ready as LikeLens")
        second = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(second.communicate(), 30)
        lines = stderr.decode().splitlines()
        assert second.returncode == 2
        assert len(lines) == 1, lines
        assert f"LikeLens is already running on {database}" in lines[0]
        assert f"process {first.process.pid}" in lines[0] and "stop it first" in lines[0]
        assert stdout == b""
        # The second never reached Discord; the first still answers and stops cleanly.
        assert len(emulator.identify_payloads) == 1
        assert await answer_to_a_command(emulator) == "LikeLens status"
        assert await first.stop() == 0
    assert "Traceback" not in first.text


BAD_CONFIGURATIONS = [
    ({}, "DISCORD_TOKEN"),
    ({"DISCORD_TOKEN": "t", "PUBLIC_BASE_URL": "likes.example.org"}, "PUBLIC_BASE_URL"),
    ({"DISCORD_TOKEN": "t", "X_API_KEY": "k", "X_API_SECRET": "s"}, "X_ACCESS_TOKEN"),
    ({"DISCORD_TOKEN": "t", "WEB_PORT": "eighty"}, "WEB_PORT"),
    ({"DISCORD_TOKEN": "t", "X_OAUTH2_REFRESH_TOKEN": "r"}, "X_CLIENT_ID"),
    ({"DISCORD_TOKEN": "t", **OAUTH1, "X_FIELD_NAMING": "tweets"}, "X_FIELD_NAMING"),
    ({"DISCORD_TOKEN": "t", **OAUTH1, "LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
    ({"DISCORD_TOKEN": "t", **OAUTH1, "DEV_GUILD_ID": "abc"}, "DEV_GUILD_ID"),
    ({"DISCORD_TOKEN": "t", **OAUTH1, "X_API_BASE_URL": "ftp://x"}, "X_API_BASE_URL"),
    ({"DISCORD_TOKEN": "t", **OAUTH1, "X_ACCOUNT_GUILDS": "my server"}, "X_ACCOUNT_GUILDS"),
]


@pytest.mark.parametrize(("variables", "named"), BAD_CONFIGURATIONS)
async def test_each_bad_configuration_prints_one_line_and_exits_2(
    emulator: DiscordEmulator, tmp_path: Path, variables: dict[str, str], named: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=child_env(emulator, **variables),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    lines = stderr.decode().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and named in lines[0], lines
    assert stdout == b""
    assert emulator.requests == [] and emulator.identify_payloads == []  # stopped before any connection
    assert not (tmp_path / "data").exists()


async def test_a_bad_value_in_dot_env_is_reported_like_the_environment(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=t\nX_API_KEY=k\nX_API_SECRET=s\nX_ACCESS_TOKEN=a\n"
                                   "X_ACCESS_TOKEN_SECRET=b\nLOG_LEVEL=chatty\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=child_env(emulator),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "LOG_LEVEL" in stderr.decode() and "chatty" in stderr.decode()


def unusable_database(tmp_path: Path, kind: str) -> Path:
    """A DATABASE_PATH that cannot work, of the given kind."""
    if kind == "folder is a file":
        (tmp_path / "a-file").write_text("not a folder")
        return tmp_path / "a-file" / "x.db"
    if kind == "path is a folder":
        (tmp_path / "a-folder").mkdir()
        return tmp_path / "a-folder"
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as conn:  # a database written by a newer LikeLens
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version (version) VALUES (999)")
    return newer


@pytest.mark.parametrize("kind", ["folder is a file", "path is a folder", "schema is newer"])
async def test_an_unusable_database_path_is_a_configuration_error(
    emulator: DiscordEmulator, tmp_path: Path, kind: str
) -> None:
    database = unusable_database(tmp_path, kind)
    env = child_env(emulator, DISCORD_TOKEN="t", **OAUTH1, DATABASE_PATH=str(database))
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert stderr.decode().count("\n") == 1 and "DATABASE_PATH" in stderr.decode()
    assert emulator.requests == []


async def test_a_token_discord_refuses_is_one_clear_line_and_exit_1(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    wrong_token = "not-the-emulator-token.abc"
    env = child_env(emulator, DISCORD_TOKEN=wrong_token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url)
    async with bot_process(tmp_path, env) as bot:
        assert await asyncio.wait_for(bot.process.wait(), 30) == 1
        await bot.stop()
    assert "Discord refused DISCORD_TOKEN" in bot.text
    assert wrong_token not in bot.text and "Traceback" not in bot.text
    assert [r.status for r in emulator.requests] == [401]


async def test_discord_out_of_reach_at_start_is_one_clear_line_and_exit_1(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    env = child_env(emulator, DISCORD_TOKEN="t", **OAUTH1)
    # A port nothing listens on: what a machine without network gives discord.py.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        env["LIKELENS_DISCORD_EMULATOR"] = f"http://127.0.0.1:{probe.getsockname()[1]}"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    text = stderr.decode()
    assert process.returncode == 1
    assert "could not reach Discord" in text
    assert "Traceback" not in text
