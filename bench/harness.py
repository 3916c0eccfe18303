"""What every benchmark shares: the Discord emulator, the X sandbox, a real LikesBot, a bare bot, tables.

    async with likelens_world() as world:          # emulator + sandbox + READY LikesBot, tmp SQLite
        interaction = world.emulator.build_slash("likes status", {}, member=world.driver.moderator)
    async with bare_world() as world:              # emulator + a discord.py bot whose /ping only defers

Everything binds to 127.0.0.1 on free ports. A benchmark whose own correctness check fails raises
BenchFailure; bench/run.py then exits non-zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bare_bot import BareBot  # noqa: E402
from bot import LikesBot  # noqa: E402
from tests.botharness import (  # noqa: E402
    BOT_TASK_PREFIXES,
    InteractionDriver,
    discord_pointed_at,
    emulator_settings,
    running_bot,
)
from tests.emulator import DiscordEmulator, Interaction, Member, schema  # noqa: E402
from xapi.sandbox import SandboxRequest, XSandbox  # noqa: E402

# Benchmarks send far more than X's 75 requests per 15 minutes; the budget is not what they measure.
BENCH_RATE_LIMIT = 1_000_000
# The sandbox's request log (no bodies) must hold a whole benchmark: requests are counted in it.
BENCH_REQUEST_LOG = 10_000_000
DISCORD_DEADLINE = 3.0


class BenchFailure(AssertionError):
    """A benchmark's own correctness check failed (e.g. a command got no answer within 3 s)."""


def check(condition: bool, message: str) -> None:
    """Raise BenchFailure with message unless condition holds."""
    if not condition:
        raise BenchFailure(message)


@dataclass
class Table:
    """One benchmark's result: a Markdown table plus notes printed under it."""

    title: str
    headers: Sequence[str]
    rows: list[Sequence[object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(cells)

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |",
                 "|" + "---|" * len(self.headers)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def ratio(numerator: float, denominator: float) -> str:
    """`numerator / denominator` as "×N.NN" (— when the denominator is 0)."""
    return "—" if denominator == 0 else f"×{numerator / denominator:.2f}"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of values."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


class TimedEmulator(DiscordEmulator):
    """The Discord emulator, noting when each interaction's callback request reached it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.callback_at: dict[str, float] = {}

    async def _callback(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        response = await super()._callback(request)
        self.callback_at[request.match_info["interaction_id"]] = arrived
        return response

    async def __aenter__(self) -> TimedEmulator:
        await self.start()
        return self

    def ack_latency(self, interaction: Interaction) -> float:
        """Seconds from dispatching INTERACTION_CREATE to the bot's first callback reaching Discord."""
        return self.callback_at[interaction.id] - interaction.created_at

    def forget(self, interactions: Sequence[Interaction]) -> None:
        """Drop what the emulator recorded for finished interactions (keeps its memory out of a bench)."""
        for interaction in interactions:
            self.interactions.pop(interaction.id, None)
            self.callback_at.pop(interaction.id, None)
            message_ids = [interaction.response_message_id, *interaction.followup_ids]
            for message_id in message_ids:
                if message_id is not None:
                    self.messages.pop(message_id, None)
        self.requests.clear()
        self.gateway_frames.clear()


@contextlib.contextmanager
def schema_checks_off() -> Iterator[None]:
    """Let the emulator skip its JSON-schema check of request bodies inside this block.

    The check (jsonschema over Discord's spec) costs the emulator ~10 ms per embed edit, in the same
    event loop as the bot: timed sections switch it off so they measure the bot, not the emulator.
    Warm-ups run with it on, so the payloads timed are ones Discord accepts.
    """
    original = schema.body_errors
    schema.body_errors = _no_schema_errors
    try:
        yield
    finally:
        schema.body_errors = original


def _no_schema_errors(route: str, method: str, body: Any) -> list[Any]:
    return []


async def settle() -> None:
    """Wait until no command or component handler task of any bot in this loop is running."""
    me = asyncio.current_task()
    while True:
        pending = [t for t in asyncio.all_tasks()
                   if t is not me and not t.done() and t.get_name().startswith(BOT_TASK_PREFIXES)]
        if not pending:
            await asyncio.sleep(0)
            return
        await asyncio.wait(pending, timeout=30)


async def dispatch_all(emulator: DiscordEmulator, interactions: Sequence[Interaction]) -> None:
    """Send every INTERACTION_CREATE on the gateway back to back, without waiting for answers."""
    for interaction in interactions:
        await emulator.send_interaction(interaction)


async def wait_acknowledged(
    emulator: DiscordEmulator, interactions: Sequence[Interaction], within: float, what: str
) -> None:
    """Wait until every interaction has its callback; BenchFailure naming how many did not."""
    try:
        await emulator.wait_until(lambda: all(i.acknowledged for i in interactions), within=within)
    except AssertionError:
        missing = sum(not i.acknowledged for i in interactions)
        raise BenchFailure(
            f"{missing} of {len(interactions)} {what} got no callback within {within} s"
        ) from None


async def round_trip(emulator: DiscordEmulator, interaction: Interaction, what: str) -> float:
    """Dispatch one interaction and wait for its callback and the bot's handler to finish; seconds taken."""
    start = time.perf_counter()
    await emulator.send_interaction(interaction)
    await wait_acknowledged(emulator, [interaction], DISCORD_DEADLINE, what)
    await settle()
    return time.perf_counter() - start


def bench_sandbox(**options: Any) -> XSandbox:
    """An X sandbox for benchmarks: no answer bodies kept, no rate limit in the way, every request logged."""
    return XSandbox(record_bodies=False, rate_limit=BENCH_RATE_LIMIT, request_log_size=BENCH_REQUEST_LOG,
                    **options)


def requests_since(x_sandbox: XSandbox, count: int) -> list[SandboxRequest]:
    """The requests the sandbox received after its first `count` (its log may be a deque)."""
    check(len(x_sandbox.requests) < BENCH_REQUEST_LOG, "the sandbox's request log overflowed")
    return list(itertools.islice(x_sandbox.requests, count, None))


@dataclass
class LikeLensWorld:
    emulator: TimedEmulator
    sandbox: XSandbox
    bot: LikesBot
    driver: InteractionDriver


@contextlib.asynccontextmanager
async def likelens_world(*, sandbox: XSandbox | None = None) -> AsyncIterator[LikeLensWorld]:
    """A READY LikesBot on a fresh emulator and X sandbox (no answer bodies kept), SQLite in a tmp dir."""
    x_sandbox = sandbox or bench_sandbox()
    with tempfile.TemporaryDirectory(prefix="likelens-bench-") as folder:
        async with TimedEmulator() as emulator, x_sandbox:
            settings = emulator_settings(emulator, x_sandbox.base_url, Path(folder) / "likelens.db")
            async with running_bot(emulator, settings) as bot:
                yield LikeLensWorld(emulator, x_sandbox, bot, InteractionDriver(emulator))
    # Views and pages of the finished world are garbage now: free them before the next measurement.
    gc.collect()


@dataclass
class BareWorld:
    emulator: TimedEmulator
    bot: BareBot
    moderator: Member

    def ping(self) -> Interaction:
        """A new /ping interaction (not yet dispatched)."""
        return self.emulator.build_slash("ping", {}, member=self.moderator)


@contextlib.asynccontextmanager
async def running_client(emulator: DiscordEmulator, client: discord.Client) -> AsyncIterator[None]:
    """client logged in to emulator and READY in this loop; closed on exit."""
    with discord_pointed_at(emulator):
        runner = asyncio.create_task(client.start(emulator.token), name="bench-bare-bot")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait({runner, ready}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()
            check(ready in done, "the bare bot did not reach READY within 15 s")
            yield
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@contextlib.asynccontextmanager
async def bare_world(**bot_options: Any) -> AsyncIterator[BareWorld]:
    """A READY BareBot (given bot_options, e.g. page_embed=) on a fresh emulator."""
    async with TimedEmulator() as emulator:
        bot = BareBot(guild_ready_timeout=0.05, **bot_options)
        async with running_client(emulator, bot):
            yield BareWorld(emulator, bot, emulator.member("moderator"))
    gc.collect()


def bench_main(run: Callable[[bool], Any], argv: Sequence[str] | None = None) -> None:
    """`python -m bench.<name> [--quick]`: print the tables; exit 1 when a correctness check failed."""
    import argparse  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small numbers (CI smoke run)")
    args = parser.parse_args(argv)
    try:
        tables: list[Table] = asyncio.run(run(args.quick))
    except BenchFailure as failure:
        print(f"BENCH FAILURE: {failure}", file=sys.stderr)
        sys.exit(1)
    for table in tables:
        print(table.to_markdown())
