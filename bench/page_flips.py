"""Benchmark 3: page-flip throughput on cached pages, through the Discord emulator.

LikeLens: `/likes post` on a post with 100 likers, browsed once to the end and back (its one X
request), then K clicks on Next/Previous, one after another, each waited for (callback + edit +
handler done). Baselines in the same run: the bare discord.py bot's `/ping` round trips (a slash
command that only defers) and clicks on its buttons that only defer (the target's baseline), and,
to explain the rest, clicks of the bare bot on a message carrying LikeLens' page embed that show it
again (edit_message, type 7: the same bytes each way as a LikeLens click). No click may reach X,
and every timed LikeLens click must be answered by the quick path (cogs/quick_clicks.py).
Run: python -m bench.page_flips [--quick]
     python -m bench.page_flips --rounds N [--clicks K]   (on a busy machine: N rounds of K clicks of
     each kind, the worlds alternating, so that a change of load hits both sides; median of the ratios)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

import discord

from bench.harness import (
    BenchFailure,
    Table,
    TimedEmulator,
    bare_world,
    bench_main,
    check,
    likelens_world,
    median,
    ratio,
    round_trip,
    schema_checks_off,
)
from cogs.likes_browse import likes_browser
from tests.emulator import Interaction, Member, Message
from xapi import sandbox

PAGER_PREFIX = "ll:pg:"


@dataclass
class Throughput:
    durations: list[float]
    acks: list[float]
    total: float

    @property
    def per_second(self) -> float:
        return len(self.durations) / self.total

    @property
    def median_ms(self) -> float:
        return median(self.durations) * 1000

    @property
    def median_ack_ms(self) -> float:
        return median(self.acks) * 1000


async def timed_round_trip(
    emulator: TimedEmulator, interaction: Interaction, what: str
) -> tuple[float, float]:
    """(seconds until the handler finished, seconds until the callback reached the emulator)."""
    seconds = await round_trip(emulator, interaction, what)
    return seconds, emulator.ack_latency(interaction)


def pager_buttons(message: Message) -> tuple[str, bool, str, bool]:
    """(Previous id, Previous enabled, Next id, Next enabled) of a LikeLens paginator message."""
    ids = [cid for cid in message.buttons if cid.startswith(PAGER_PREFIX)]
    check(len(ids) == 2, f"the paginator message has no Previous/Next buttons: {list(message.buttons)}")
    previous, following = ids[0], ids[-1]
    return (previous, not message.buttons[previous].get("disabled"),
            following, not message.buttons[following].get("disabled"))


def throughput(timings: list[tuple[float, float]], total: float) -> Throughput:
    return Throughput([t[0] for t in timings], [t[1] for t in timings], total)


class Browser:
    """Clicks a LikeLens paginator back and forth between its first and last page."""

    def __init__(self, emulator: TimedEmulator, message: Message, member: Member) -> None:
        self.emulator, self.message, self.member = emulator, message, member
        self.forward = True

    async def click(self) -> tuple[float, float]:
        previous, can_go_back, following, can_go_on = pager_buttons(self.message)
        if self.forward and not can_go_on:
            self.forward = False
        elif not self.forward and not can_go_back:
            self.forward = True
        custom_id = following if self.forward else previous
        target = int(custom_id.rsplit(":", 1)[1])
        interaction = self.emulator.build_click(self.message, custom_id, member=self.member)
        seconds = await timed_round_trip(self.emulator, interaction, f"click on {custom_id}")
        self.message = self.emulator.messages[self.message.id]
        shown_previous = pager_buttons(self.message)[0]
        check(shown_previous.endswith(f":{max(0, target - 1)}"),
              f"after a click to page {target} the Previous button is {shown_previous}")
        return seconds


@dataclass
class Flips:
    throughput: Throughput
    x_requests: int
    quick_answers: int
    page_embed: dict[str, Any]


async def likelens_flips(clicks: int) -> Flips:
    """The timed clicks, the X requests and quick answers among them, and the embed of the last page."""
    async with likelens_world() as world:
        result = await world.driver.slash("likes post", post=sandbox.POST_100_LIKES)
        browser = Browser(world.emulator, result.response, world.driver.moderator)
        # Warm-up: to the last page and back, fetching the one API page of 100.
        for _ in range(18):
            await browser.click()
        x_before = len(world.sandbox.requests)
        quick_before = likes_browser(world.bot).quick_answers
        with schema_checks_off():
            start = time.perf_counter()
            timings = [await browser.click() for _ in range(clicks)]
            total = time.perf_counter() - start
        return Flips(throughput(timings, total), len(world.sandbox.requests) - x_before,
                     likes_browser(world.bot).quick_answers - quick_before, browser.message.data["embeds"][0])


async def bare_page_clicks(count: int, embed: dict[str, Any]) -> Throughput:
    """Clicks of the bare bot that show `embed` again on a message carrying it (edit_message, type 7)."""
    async with bare_world(page_embed=discord.Embed.from_dict(embed)) as world:
        emulator = world.emulator
        page = emulator.build_slash("page", {}, member=world.moderator)
        await round_trip(emulator, page, "/page")
        assert page.response_message_id is not None
        message = emulator.messages[page.response_message_id]
        await round_trip(emulator, emulator.build_click(message, "bare:page-next", member=world.moderator),
                         "warm-up page click")
        with schema_checks_off():
            start = time.perf_counter()
            clicks = []
            for n in range(count):
                button = "bare:page-next" if n % 2 else "bare:page-previous"
                click = emulator.build_click(message, button, member=world.moderator)
                clicks.append(await timed_round_trip(emulator, click, "bare page click"))
            total = time.perf_counter() - start
        return throughput(clicks, total)


async def bare_round_trips(count: int) -> tuple[Throughput, Throughput]:
    """(/ping round trips, button clicks that only defer) of the bare discord.py bot."""
    async with bare_world() as world:
        emulator = world.emulator
        for _ in range(10):
            await round_trip(emulator, world.ping(), "warm-up /ping")
        pager = emulator.build_slash("pager", {}, member=world.moderator)
        await round_trip(emulator, pager, "/pager")
        assert pager.response_message_id is not None
        message = emulator.messages[pager.response_message_id]
        warm_click = emulator.build_click(message, "bare:next", member=world.moderator)
        await round_trip(emulator, warm_click, "warm-up click")
        with schema_checks_off():
            start = time.perf_counter()
            pings = [await timed_round_trip(emulator, world.ping(), "/ping") for _ in range(count)]
            ping_total = time.perf_counter() - start
            start = time.perf_counter()
            clicks = []
            for n in range(count):
                button = "bare:next" if n % 2 else "bare:previous"
                click = emulator.build_click(message, button, member=world.moderator)
                clicks.append(await timed_round_trip(emulator, click, "bare click"))
            click_total = time.perf_counter() - start
        return throughput(pings, ping_total), throughput(clicks, click_total)


async def run(quick: bool) -> list[Table]:
    count = 30 if quick else 500
    pings, bare_clicks = await bare_round_trips(count)
    flips = await likelens_flips(count)
    check(flips.x_requests == 0, f"{flips.x_requests} X requests during {count} clicks on cached pages")
    check(flips.quick_answers == count,
          f"{count - flips.quick_answers} of {count} clicks on held pages missed the quick path")
    page_clicks = await bare_page_clicks(count, flips.page_embed)
    table = Table(
        f"3. Page-flip throughput: {count} sequential round trips each, through the emulator",
        ["round trip", "per second", "median ms", "median ms to callback", "vs bare /ping", "vs bare click",
         "to callback vs bare click", "X requests"],
    )

    def add(label: str, row: Throughput, x_requests: int = 0) -> None:
        table.add(label, row.per_second, row.median_ms, row.median_ack_ms,
                  ratio(row.per_second, pings.per_second), ratio(row.per_second, bare_clicks.per_second),
                  ratio(row.median_ack_ms, bare_clicks.median_ack_ms), x_requests)

    add("bare discord.py `/ping` (defer)", pings)
    add("bare discord.py button click (defer update)", bare_clicks)
    add("LikeLens Next/Previous on cached pages", flips.throughput, flips.x_requests)
    add("extra, to explain: bare discord.py click showing LikeLens' page embed again (edit_message)",
        page_clicks)
    table.notes.append("Timed with the emulator's JSON-schema check off (it would dominate: ~10 ms per "
                       "embed edit in the same event loop); the warm-up ran with it on.")
    table.notes.append("A LikeLens click on a live paginator whose page is held: answered before discord.py "
                       "builds the click (cogs/quick_clicks.py: owner, server and serving account checked "
                       "from memory, the page's callback body serialized after the previous click), the "
                       "position written to SQLite afterwards in the background.")
    table.notes.append("The targets are judged against the bare button click (its message has no embed, its "
                       "answer no page); the extra row is plain discord.py carrying LikeLens' page both "
                       "ways.")
    return [table]


async def alternating_rounds(rounds: int, clicks: int) -> Table:
    """The three clicks again, the worlds started anew each round: each round's ratios, and their median."""
    table = Table(
        f"3c. Page flips, alternating: {rounds} rounds of {clicks} clicks of each kind",
        ["round", "bare click ms to callback", "LikeLens ms to callback",
         "LikeLens to callback vs bare click", "LikeLens per second vs bare click",
         "extra row to callback vs bare click"],
    )
    ratios: list[tuple[float, float, float]] = []
    for number in range(1, rounds + 1):
        _, bare_clicks = await bare_round_trips(clicks)
        flips = await likelens_flips(clicks)
        check(flips.x_requests == 0 and flips.quick_answers == clicks,
              "a timed click reached X or missed the quick path")
        page_clicks = await bare_page_clicks(clicks, flips.page_embed)
        ratios.append((flips.throughput.median_ack_ms / bare_clicks.median_ack_ms,
                       flips.throughput.per_second / bare_clicks.per_second,
                       page_clicks.median_ack_ms / bare_clicks.median_ack_ms))
        table.add(number, bare_clicks.median_ack_ms, flips.throughput.median_ack_ms,
                  *(f"×{value:.2f}" for value in ratios[-1]))
    table.add("median", "", "", *(f"×{statistics.median(r[i] for r in ratios):.2f}" for i in range(3)))
    return table


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--clicks", type=int, default=150)
    args, rest = parser.parse_known_args(argv)
    if not args.rounds:
        bench_main(run, rest)
        return
    try:
        print(asyncio.run(alternating_rounds(args.rounds, args.clicks)).to_markdown())
    except BenchFailure as failure:
        print(f"BENCH FAILURE: {failure}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
