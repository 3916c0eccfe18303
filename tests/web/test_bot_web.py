"""The web server inside the bot: started in setup_hook, /healthz follows the gateway, closed with the bot."""

from __future__ import annotations

import asyncio
import socket
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bot import LikesBot
from tests.botharness import emulator_settings, running_bot
from tests.e2e.test_process import OAUTH1, REPO, child_env
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox


async def _health(session: aiohttp.ClientSession, bot: LikesBot) -> int:
    async with session.get(bot.web.base_url + "/healthz") as response:
        return response.status


async def test_healthz_answers_200_while_connected_503_while_not_and_nothing_once_closed(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with aiohttp.ClientSession() as session:
        async with running_bot(emulator, settings) as bot:
            url = bot.web.base_url
            assert bot.web.port != 0 and url == f"http://127.0.0.1:{bot.web.port}"
            assert await _health(session, bot) == 200
            reconnect = emulator.hold_gateway()
            await emulator.drop_gateway()
            statuses: list[int] = []

            async def unhealthy() -> bool:
                statuses.append(await _health(session, bot))
                return statuses[-1] == 503

            for _ in range(200):
                if await unhealthy():
                    break
                await asyncio.sleep(0.02)
            assert statuses[-1] == 503
            reconnect.set()
            await emulator.wait_for_resumes(1)
            for _ in range(200):
                if await _health(session, bot) == 200:
                    break
                await asyncio.sleep(0.02)
            assert await _health(session, bot) == 200
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url + "/healthz")


async def test_the_callback_url_is_public_base_url_plus_x_callback(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db",
                                 public_base_url="https://likes.example.org")
    async with running_bot(emulator, settings) as bot:
        assert bot.web.callback_url == "https://likes.example.org/x/callback"


async def test_a_busy_port_stops_the_start_with_one_sentence(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = replace(emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db"),
                           web_port=port)
        from web import WebServerError  # noqa: PLC0415

        with pytest.raises(WebServerError, match=f"could not listen on 127.0.0.1:{port}"):
            async with running_bot(emulator, settings):
                pass


async def test_python_bot_py_on_a_busy_port_logs_one_line_and_exits_1(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_env(emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_API_BASE_URL=x_sandbox.base_url,
                        WEB_PORT=str(port))
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    errors = [line for line in stderr.decode().splitlines() if "ERROR" in line or "Traceback" in line]
    assert process.returncode == 1
    assert len(errors) == 1 and f"could not listen on 127.0.0.1:{port}" in errors[0], errors
    assert "WEB_PORT" in errors[0]
