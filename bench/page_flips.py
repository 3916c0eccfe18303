"""Benchmark 3: page-flip throughput on cached pages, through the Discord emulator.

LikeLens: `/likes post` on a post with 100 likers, browsed once to the end and back (its one X
request), then K clicks on Next/Previous, one after another, each waited for (callback + edit +
handler done). Baselines in the same run: the bare discord.py bot's `/ping` round trips (a slash
command that only defers) and clicks on its buttons that only defer. No click may reach X.
Run: python -m bench.page_flips [--quick]
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.harness import (
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


async def likelens_flips(clicks: int) -> tuple[Throughput, int]:
    """(throughput, X requests during the timed clicks)."""
    async with likelens_world() as world:
        result = await world.driver.slash("likes post", post=sandbox.POST_100_LIKES)
        browser = Browser(world.emulator, result.response, world.driver.moderator)
        # Warm-up: to the last page and back, fetching the one API page of 100.
        for _ in range(18):
            await browser.click()
        x_before = len(world.sandbox.requests)
        with schema_checks_off():
            start = time.perf_counter()
            timings = [await browser.click() for _ in range(clicks)]
            total = time.perf_counter() - start
        return throughput(timings, total), len(world.sandbox.requests) - x_before


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
    flips, x_requests = await likelens_flips(count)
    check(x_requests == 0, f"{x_requests} X requests during {count} clicks on cached pages")
    table = Table(
        f"3. Page-flip throughput: {count} sequential round trips each, through the emulator",
        ["round trip", "per second", "median ms", "median ms to callback", "vs bare /ping", "vs bare click",
         "X requests"],
    )
    table.add("bare discord.py `/ping` (defer)", pings.per_second, pings.median_ms, pings.median_ack_ms,
              "×1.00", ratio(pings.per_second, bare_clicks.per_second), 0)
    table.add("bare discord.py button click (defer update)", bare_clicks.per_second, bare_clicks.median_ms,
              bare_clicks.median_ack_ms, ratio(bare_clicks.per_second, pings.per_second), "×1.00", 0)
    table.add("LikeLens Next/Previous on cached pages", flips.per_second, flips.median_ms,
              flips.median_ack_ms, ratio(flips.per_second, pings.per_second),
              ratio(flips.per_second, bare_clicks.per_second), x_requests)
    table.notes.append("Timed with the emulator's JSON-schema check off (it would dominate: ~10 ms per "
                       "embed edit in the same event loop); the warm-up ran with it on.")
    table.notes.append("A LikeLens click on a live paginator: owner and server checked from memory, the page "
                       "(rendered once, then kept) sent in the click's own response (type 7, no defer: no X "
                       "request is needed), the position written to SQLite afterwards in the background.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
