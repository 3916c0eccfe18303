"""The container's HEALTHCHECK run as Docker runs it: the Dockerfile's exact command, against a bot."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

from tests.botharness import emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

REPO = Path(__file__).resolve().parents[2]


def healthcheck_command() -> list[str]:
    """The HEALTHCHECK's CMD (exec form) from the Dockerfile."""
    text = (REPO / "Dockerfile").read_text()
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])\s*$", text, re.MULTILINE)
    assert found is not None, "the Dockerfile has no exec-form HEALTHCHECK"
    command = json.loads(found.group(1))
    assert isinstance(command, list) and all(isinstance(part, str) for part in command)
    return command


async def _run(command: list[str], port: int) -> int:
    # The slim image has python but no curl: the command must need nothing else.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "WEB_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_dockerfile_healthcheck_asks_healthz_and_fails_when_the_bot_is_down(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    command = healthcheck_command()
    assert command[0] == "python" and "/healthz" in " ".join(command)
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as bot:
        port = bot.web.port
        assert await _run(command, port) == 0
        reconnect = emulator.hold_gateway()
        await emulator.drop_gateway()
        for _ in range(100):
            if not bot.gateway_connected():
                break
            await asyncio.sleep(0.02)
        assert await _run(command, port) != 0  # 503 while disconnected
        reconnect.set()
        await emulator.wait_for_resumes(1)
    assert await _run(command, port) != 0  # nothing listens once the bot stopped
