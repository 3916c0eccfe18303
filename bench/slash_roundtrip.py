"""Round trip of one slash command through the Discord emulator: median of N (default 100).

Measures, with a real LikesBot in process (X sandbox, tmp SQLite), the time from dispatching
INTERACTION_CREATE on the gateway until (a) the bot's callback request is recorded and (b) the
bot's handler task has finished. Run: python bench/slash_roundtrip.py [--n 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox


async def measure(n: int) -> tuple[list[float], list[float]]:
    acked: list[float] = []
    settled: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        async with DiscordEmulator() as emulator, XSandbox() as x_sandbox:
            settings = emulator_settings(emulator, x_sandbox.base_url, Path(folder) / "likelens.db")
            async with running_bot(emulator, settings):
                driver = InteractionDriver(emulator)
                await driver.slash("likes status")  # warm-up
                for _ in range(n):
                    interaction = emulator.build_slash("likes status", {}, member=driver.moderator)
                    start = time.perf_counter()
                    await emulator.send_interaction(interaction)
                    await emulator.wait_until(lambda i=interaction: i.acknowledged)  # type: ignore[misc]
                    acked.append(time.perf_counter() - start)
                    await driver.settle()
                    settled.append(time.perf_counter() - start)
    return acked, settled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    n = parser.parse_args().n
    acked, settled = asyncio.run(measure(n))
    print(f"| slash round trip (n={n}) | median ms | p90 ms | max ms |")
    print("|---|---|---|---|")
    for label, values in (("dispatch → callback recorded", acked), ("dispatch → handler finished", settled)):
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        median = statistics.median(values)
        print(f"| {label} | {median * 1000:.2f} | {p90 * 1000:.2f} | {ordered[-1] * 1000:.2f} |")


if __name__ == "__main__":
    main()
