"""Benchmark 2: acknowledgement latency under load.

N slash commands dispatched at once on the gateway (200; quick: 20) while the X sandbox answers every
request after 5 s (quick: 0.5 s). Time from INTERACTION_CREATE to the bot's first callback reaching
the emulator, p50/p99/max: LikeLens' `/likes post` (five different posts) against the bare
discord.py bot's `/ping` that only defers, in the same run. Every command must be acknowledged
within Discord's 3 s and (LikeLens) end with its answer, not "thinking…".
Run: python -m bench.ack_latency [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.harness import (
    DISCORD_DEADLINE,
    BenchFailure,
    Table,
    TimedEmulator,
    bare_world,
    bench_main,
    check,
    dispatch_all,
    likelens_world,
    percentile,
    ratio,
    schema_checks_off,
    settle,
    wait_acknowledged,
)
from tests.emulator import Interaction
from xapi import sandbox

POSTS = (sandbox.POST_100_LIKES, sandbox.POST_7_LIKES, sandbox.POST_MANY_LIKES, sandbox.POST_NO_LIKES,
         sandbox.POST_OWNER_PINNED)


@dataclass
class Latencies:
    values: list[float]
    x_requests: int = 0

    def row(self) -> tuple[float, float, float]:
        return (percentile(self.values, 0.5) * 1000, percentile(self.values, 0.99) * 1000,
                max(self.values) * 1000)


def latencies(emulator: TimedEmulator, interactions: Sequence[Interaction]) -> list[float]:
    values = [emulator.ack_latency(i) for i in interactions]
    late = sum(v > DISCORD_DEADLINE for v in values)
    check(late == 0, f"{late} of {len(values)} acknowledgements came after Discord's {DISCORD_DEADLINE} s")
    return values


async def bare_latencies(count: int) -> Latencies:
    async with bare_world() as world:
        warm = world.ping()
        await dispatch_all(world.emulator, [warm])
        await wait_acknowledged(world.emulator, [warm], 5, "warm-up /ping")
        interactions = [world.ping() for _ in range(count)]
        with schema_checks_off():
            await dispatch_all(world.emulator, interactions)
            await wait_acknowledged(world.emulator, interactions, DISCORD_DEADLINE + 2, "/ping commands")
            await settle()
        return Latencies(latencies(world.emulator, interactions))


async def likelens_latencies(count: int, x_latency: float) -> Latencies:
    async with likelens_world() as world:
        emulator = world.emulator
        warm = await world.driver.slash("likes post", post=sandbox.POST_7_LIKES)
        check(bool(warm.embeds), f"/likes post answered without an embed: {warm.content!r}")
        world.sandbox.faults.latency_seconds = x_latency
        before = len(world.sandbox.requests)
        interactions = [
            emulator.build_slash("likes post", {"post": POSTS[n % len(POSTS)]}, member=world.driver.moderator)
            for n in range(count)
        ]
        started = time.monotonic()
        with schema_checks_off():
            await dispatch_all(emulator, interactions)
            await wait_acknowledged(emulator, interactions, DISCORD_DEADLINE + 2, "/likes post commands")
            measured = latencies(emulator, interactions)
            await settle()
        # Each answer is the real one: the deferred "thinking…" message was edited.
        left = [i for i in interactions if i.response_message_id is None
                or emulator.messages[i.response_message_id].loading]
        if left:
            raise BenchFailure(f"{len(left)} of {count} /likes post commands were still thinking "
                               f"{time.monotonic() - started:.1f} s after dispatch")
        return Latencies(measured, len(world.sandbox.requests) - before)


async def run(quick: bool) -> list[Table]:
    count, x_latency, rounds = (20, 0.5, 1) if quick else (200, 5.0, 3)
    bare, likelens = Latencies([]), Latencies([])
    round_max: dict[str, list[float]] = {"bare": [], "LikeLens": []}
    # Alternate the two bots round by round, so drift of the shared machine hits both alike.
    for _ in range(rounds):
        bare_round = await bare_latencies(count)
        bare.values += bare_round.values
        measured = await likelens_latencies(count, x_latency)
        round_max["bare"].append(max(bare_round.values) * 1000)
        round_max["LikeLens"].append(max(measured.values) * 1000)
        likelens.values += measured.values
        likelens.x_requests += measured.x_requests
    table = Table(
        f"2. Acknowledgement latency: {count} slash commands at once, X answering after {x_latency:g} s "
        f"({rounds} round{'s' if rounds > 1 else ''} each, alternating; percentiles over all "
        f"{count * rounds} commands)",
        ["bot", "p50 (ms)", "p99 (ms)", "max (ms)", "p50 vs bare", "p99 vs bare", "within 3 s",
         "X requests"],
    )
    b50, b99, bmax = bare.row()
    l50, l99, lmax = likelens.row()
    total = count * rounds
    table.add("bare discord.py `/ping` (only defers)", b50, b99, bmax, "×1.00", "×1.00",
              f"{total}/{total}", 0)
    table.add("LikeLens `/likes post` (5 posts)", l50, l99, lmax, ratio(l50, b50), ratio(l99, b99),
              f"{total}/{total}", likelens.x_requests)
    table.notes.append("Timed with the emulator's JSON-schema check of request bodies off (bench/harness.py "
                       "schema_checks_off); the warm-up command ran with it on.")
    table.notes.append("Latency: INTERACTION_CREATE sent on the gateway → the bot's callback request "
                       "reaching the emulator; all commands dispatched back to back, one event loop.")
    if rounds > 1:
        per_round = "; ".join(f"{name} " + " / ".join(f"{value:.0f}" for value in values)
                              for name, values in round_max.items())
        table.notes.append(f"Max per round (ms): {per_round}")
    table.notes.append("X requests: LikeLens' over all rounds (concurrent identical lookups share one).")
    return [table]


if __name__ == "__main__":
    bench_main(run)
