"""Benchmark 6: startup. Process start to READY on the emulator, and the import time of bot.py.

`python bot.py` (fresh SQLite, so it syncs its commands as a first start does) against the bare
discord.py bot (`python -m bench.bare_bot`, syncs every start), both on the Discord emulator through
tests/emulator/subprocess_site. Import times are those of a fresh interpreter, minus `python -c pass`.
Run: python -m bench.startup [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    REPO,
    BenchFailure,
    Table,
    TimedEmulator,
    bench_main,
    bench_sandbox,
    check,
    median,
    ratio,
)
from xapi import sandbox

SITE = REPO / "tests" / "emulator" / "subprocess_site"
READY_LINE = "Ready as "
START_TIMEOUT = 30.0


@dataclass
class Startup:
    ready_frame: float  # spawn -> the emulator sent READY on the gateway
    on_ready: float  # spawn -> the bot logged on_ready (after discord.py's guild_ready_timeout)


def base_env(emulator: TimedEmulator) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SITE),
        "LIKELENS_DISCORD_EMULATOR": emulator.base_url, "PYTHONUNBUFFERED": "1",
        "DISCORD_TOKEN": emulator.token,
    }


def likelens_env(emulator: TimedEmulator, x_base_url: str, folder: Path) -> dict[str, str]:
    return {
        **base_env(emulator), "X_API_KEY": sandbox.SANDBOX_API_KEY,
        "X_API_SECRET": sandbox.SANDBOX_API_SECRET,
        "X_ACCESS_TOKEN": sandbox.SANDBOX_ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
        "X_BEARER_TOKEN": sandbox.SANDBOX_BEARER_TOKEN, "X_API_BASE_URL": x_base_url,
        "DATABASE_PATH": str(folder / "likelens.db"),
    }


async def time_start(
    args: list[str], folder: Path, emulator: TimedEmulator, *, likelens: bool, x_base_url: str = "",
    syncs: bool = True,
) -> Startup:
    """Spawn one bot process (database in folder) on emulator, time it to READY, stop it."""
    emulator.ready_sent.clear()
    requests_before = len(emulator.requests)
    env = likelens_env(emulator, x_base_url, folder) if likelens else base_env(emulator)
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=folder if likelens else REPO, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    log: list[str] = []
    try:
        await asyncio.wait_for(emulator.ready_sent.wait(), START_TIMEOUT)
        ready_frame = time.perf_counter() - start
        assert process.stderr is not None
        while not any(READY_LINE in line for line in log):
            line = await asyncio.wait_for(process.stderr.readline(), START_TIMEOUT)
            if not line:
                raise BenchFailure(f"{args} exited before READY:\n{''.join(log)}")
            log.append(line.decode(errors="replace"))
        on_ready = time.perf_counter() - start
    except TimeoutError:
        raise BenchFailure(
            f"{args} did not reach READY within {START_TIMEOUT} s:\n{''.join(log)}"
        ) from None
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.communicate(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
    synced = any(r.method == "PUT" and r.route == "/applications/{application_id}/commands"
                 for r in emulator.requests[requests_before:])
    check(synced == syncs, f"{args} {'did not sync' if syncs else 'synced'} its commands")
    return Startup(ready_frame, on_ready)


async def import_time(statement: str) -> float:
    """Wall time of a fresh `python -c statement` in the repository (bytecode cache warm)."""
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", statement, cwd=REPO, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise BenchFailure(f"python -c {statement!r} failed: {stderr.decode(errors='replace')}")
    return elapsed


async def run(quick: bool) -> list[Table]:
    starts, imports = (1, 2) if quick else (5, 15)
    likelens: list[Startup] = []
    restarts: list[Startup] = []
    bare: list[Startup] = []
    bot_py = [str(REPO / "bot.py")]
    async with bench_sandbox() as x_sandbox:
        url = x_sandbox.base_url
        # Alternate the bots so machine drift hits all alike; one unmeasured start warms the caches.
        for round_number in range(starts + (0 if quick else 1)):
            with tempfile.TemporaryDirectory(prefix="likelens-bench-start-") as name:
                folder = Path(name)
                async with TimedEmulator() as emulator:
                    bare_start = await time_start(["-m", "bench.bare_bot"], folder, emulator, likelens=False)
                async with TimedEmulator() as emulator:
                    first = await time_start(bot_py, folder, emulator, likelens=True, x_base_url=url)
                    # Same application and database: the tree is unchanged, so this start does not sync.
                    again = await time_start(bot_py, folder, emulator, likelens=True, x_base_url=url,
                                             syncs=False)
            if quick or round_number > 0:
                bare.append(bare_start)
                likelens.append(first)
                restarts.append(again)
    startup = Table(
        f"6a. Startup: process start to READY on the emulator (median of {starts})",
        ["bot", "spawn → READY frame (ms)", "spawn → on_ready (ms)", "READY frame vs bare"],
    )
    bare_frame, bare_ready = median([s.ready_frame for s in bare]), median([s.on_ready for s in bare])
    ll_frame, ll_ready = median([s.ready_frame for s in likelens]), median([s.on_ready for s in likelens])
    re_frame, re_ready = median([s.ready_frame for s in restarts]), median([s.on_ready for s in restarts])
    startup.add("bare discord.py bot (/ping, syncs its tree)", bare_frame * 1000, bare_ready * 1000, "×1.00")
    startup.add("LikeLens `python bot.py` (first start: syncs)", ll_frame * 1000, ll_ready * 1000,
                ratio(ll_frame, bare_frame))
    startup.add("LikeLens `python bot.py` (restart: tree unchanged, no sync)", re_frame * 1000,
                re_ready * 1000, ratio(re_frame, bare_frame))
    startup.notes.append("on_ready includes discord.py's guild_ready_timeout (2 s by default) that every "
                         "discord.py bot waits after the last GUILD_CREATE.")

    interpreter: list[float] = []
    discord_import: list[float] = []
    bot_import: list[float] = []
    with contextlib.suppress(Exception):
        await import_time("import bot")  # warms the bytecode cache
    for _ in range(imports):
        interpreter.append(await import_time("pass"))
        discord_import.append(await import_time("import discord, discord.ext.commands"))
        bot_import.append(await import_time("import bot"))
    base = median(interpreter)
    discord_ms, bot_ms = median(discord_import) - base, median(bot_import) - base
    importing = Table(
        f"6b. Import time in a fresh interpreter (median of {imports}, minus `python -c pass`)",
        ["module", "import (ms)", "vs discord.py"],
    )
    importing.add("`import discord, discord.ext.commands` (baseline)", discord_ms * 1000, "×1.00")
    importing.add("`import bot` (LikeLens)", bot_ms * 1000, ratio(bot_ms, discord_ms))
    importing.notes.append(f"`python -c pass` itself: {base * 1000:.0f} ms.")
    return [startup, importing]


if __name__ == "__main__":
    bench_main(run)
