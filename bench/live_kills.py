"""Live likes across `kill -9`: likes lost and doubled when the bot process is killed 5 times (--quick: 2).

`python bot.py` runs as a subprocess on the Discord emulator and the X sandbox (both in this process);
one live `recent` digest; likes arrive at 5 a second throughout; the bot is killed with SIGKILL at
random moments and started again on the same database. Exit status 1 when a like is lost or doubled.

Run: python -m bench.live_kills [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.botharness import InteractionDriver
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "tests" / "emulator" / "subprocess_site"
READY_LINE = "Ready as "
# The tasks reading the bot processes' logs (a pipe left unread would block the bot).
DRAINS: list[asyncio.Task[None]] = []
LINK = re.compile(r"\]\(https://x\.com/([^)]+)\)")


def env_for(emulator: DiscordEmulator, x: XSandbox, folder: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SITE),
        "LIKELENS_DISCORD_EMULATOR": emulator.base_url, "PYTHONUNBUFFERED": "1",
        "DISCORD_TOKEN": emulator.token, "X_API_KEY": sandbox.SANDBOX_API_KEY,
        "X_API_SECRET": sandbox.SANDBOX_API_SECRET, "X_ACCESS_TOKEN": sandbox.SANDBOX_ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
        "X_BEARER_TOKEN": sandbox.SANDBOX_BEARER_TOKEN, "X_API_BASE_URL": x.base_url,
        "DATABASE_PATH": str(folder / "likelens.db"),
    }


async def start_bot(env: dict[str, str], folder: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=folder, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        if not line:
            raise RuntimeError("the bot exited before READY")
        if READY_LINE in line.decode(errors="replace"):
            DRAINS.append(asyncio.create_task(drain(process)))
            return process
    raise RuntimeError("the bot did not reach READY")


async def drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.readline():
        pass


def listed(emulator: DiscordEmulator) -> list[str]:
    names: list[str] = []
    for message in emulator.messages_in(emulator.channel("digests")):
        for embed in message.data.get("embeds", []):
            names += [n.replace("\\", "") for n in LINK.findall(embed.get("description", ""))]
    return names


async def bench(kills: int) -> tuple[list[str], bool]:
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as raw:
        folder = Path(raw)
        async with DiscordEmulator() as emulator, XSandbox(record_bodies=False, rate_limit=100_000) as x:
            now = datetime.now(UTC)
            posts = [x.world.new_post(rng, sandbox.OWNER_ID, now).id for _ in range(10)]
            env = env_for(emulator, x, folder)
            process = await start_bot(env, folder)
            result = await InteractionDriver(emulator).slash(
                "digest add", subject="recent", channel="digests", every="live")
            answer = emulator.messages[result.response.id]
            # The command deferred: its answer is an edit that comes a moment later.
            await emulator.wait_until(lambda: "created" in answer.data["content"], within=30,
                                      what="the live digest")
            made: list[str] = []
            stop = asyncio.Event()

            async def like_forever() -> None:
                while not stop.is_set():
                    (liker,) = x.add_likers(rng.choice(posts), 1)
                    made.append(x.world.users[liker].username)
                    await asyncio.sleep(0.2)

            liking = asyncio.create_task(like_forever())
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(2.0, 6.0))
                process.kill()  # SIGKILL: no cleanup of any kind
                await process.wait()
                await asyncio.sleep(rng.uniform(0.5, 2.0))
                process = await start_bot(env, folder)
            await asyncio.sleep(3)
            stop.set()
            await liking
            deadline = time.monotonic() + 40
            # Polled: the emulator's messages signal nothing.
            while time.monotonic() < deadline and not set(made) <= set(listed(emulator)):  # noqa: ASYNC110
                await asyncio.sleep(0.2)
            await asyncio.sleep(3)
            names = listed(emulator)
            process.kill()
            await process.wait()
    lost = len(set(made) - set(names))
    doubled = len(names) - len(set(names))
    rows = ["| measure | value |", "|---|---|",
            f"| likes while the bot was killed with SIGKILL {kills} times | {len(made)} |",
            f"| lost / doubled | {lost} / {doubled} |"]
    return rows, lost == 0 and doubled == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    rows, ok = asyncio.run(bench(2 if args.quick else 5))
    print("\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
