"""Benchmark 1: X requests per browse, forward to the end and back to the start.

100 likers of a post and 250 liked posts, browsed in display pages of 10. LikeLens' page source
(xapi.browse.BrowseSource over API pages of 100) against the naive paginator (bench/naive_pager.py:
max_results=10 per display page, refetching on Previous) and the floor ceil(items / 100).
Run: python -m bench.x_requests [--quick]
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.harness import (
    LikeLensWorld,
    Table,
    TimedEmulator,
    bench_main,
    bench_sandbox,
    check,
    likelens_world,
    requests_since,
    round_trip,
)
from bench.naive_pager import NAIVE_PAGE_SIZE, NaivePager
from bench.page_flips import pager_buttons
from tests.botharness import emulator_settings, running_bot
from tests.emulator import Member, Message
from xapi import sandbox
from xapi.auth import OAuth1UserAuth
from xapi.browse import BrowseSource
from xapi.client import XClient
from xapi.models import Page
from xapi.sandbox import XSandbox

DISPLAY_PAGE = 10
API_PAGE = 100


@dataclass(frozen=True)
class Subject:
    """One list to browse: its name, the sandbox path fragment, and how the client fetches a page."""

    name: str
    path_fragment: str
    fetch: Callable[[XClient, int, str | None], Awaitable[Page[Any]]]


SUBJECTS = (
    Subject("100 likers of a post", "/liking_users", lambda x, n, token: x.liking_users(
        sandbox.POST_100_LIKES, max_results=n, pagination_token=token)),
    Subject("250 liked posts", "/liked_tweets", lambda x, n, token: x.liked_posts(
        sandbox.OWNER_ID, max_results=n, pagination_token=token)),
)


@dataclass
class Browse:
    """What one browse forward to the end and back cost, and what it showed."""

    requests: int
    items_returned: int
    unique_items: int
    shown_forward: list[str]
    shown_backward: list[str]


def x_client(session: aiohttp.ClientSession, base_url: str, *, cache: bool) -> XClient:
    auth = OAuth1UserAuth(sandbox.SANDBOX_API_KEY, sandbox.SANDBOX_API_SECRET,
                          sandbox.SANDBOX_ACCESS_TOKEN, sandbox.SANDBOX_ACCESS_TOKEN_SECRET)
    return XClient(session, base_url=base_url, user_auth=auth, cache_ttl=60.0 if cache else 0.0)


class Counting:
    """Wraps a fetch, counting the items X returned and which ones (billing dedups per day)."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[Any]]]) -> None:
        self._fetch = fetch
        self.items_returned = 0
        self.ids: set[str] = set()

    async def __call__(self, token: str | None) -> Page[Any]:
        page = await self._fetch(token)
        self.items_returned += len(page.items)
        self.ids.update(item.id for item in page.items)
        return page


def requests_to(x_sandbox: XSandbox, fragment: str) -> int:
    return sum(1 for r in x_sandbox.requests if fragment in r.path and r.status == 200)


async def browse_likelens(x: XClient, x_sandbox: XSandbox, subject: Subject) -> Browse:
    before = requests_to(x_sandbox, subject.path_fragment)
    fetch = Counting(lambda token: subject.fetch(x, API_PAGE, token))
    source: BrowseSource[Any] = BrowseSource(fetch, per_page=DISPLAY_PAGE)
    page = await source.first()
    forward = [page.items]
    while page.has_next:
        page = await source.next()
        forward.append(page.items)
    backward = []
    while page.has_previous:
        page = await source.previous()
        backward.append(page.items)
    return Browse(requests_to(x_sandbox, subject.path_fragment) - before, fetch.items_returned,
                  len(fetch.ids), [i.id for p in forward for i in p], [i.id for p in backward for i in p])


async def browse_naive(x: XClient, x_sandbox: XSandbox, subject: Subject) -> Browse:
    before = requests_to(x_sandbox, subject.path_fragment)
    fetch = Counting(lambda token: subject.fetch(x, NAIVE_PAGE_SIZE, token))
    pager: NaivePager[Any] = NaivePager(fetch)
    forward = [(await pager.first()).items]
    while pager.has_next:
        forward.append((await pager.next()).items)
    backward = []
    while pager.has_previous:
        backward.append((await pager.previous()).items)
    return Browse(requests_to(x_sandbox, subject.path_fragment) - before, fetch.items_returned,
                  len(fetch.ids), [i.id for p in forward for i in p], [i.id for p in backward for i in p])


def page_source_table(results: list[tuple[Subject, Browse, Browse]]) -> Table:
    table = Table(
        "1a. X requests per browse (page source level: forward to the end, back to the start)",
        ["list", "items", "paginator", "X requests", "items returned", "items billed (same-day dedup)",
         "requests vs floor"],
    )
    for subject, likelens, naive in results:
        items = likelens.unique_items
        floor = math.ceil(items / API_PAGE)
        table.add(subject.name, items, "floor ceil(items/100)", floor, items, items, "×1.00")
        table.add(subject.name, items, "LikeLens (BrowseSource)", likelens.requests, likelens.items_returned,
                  likelens.unique_items, f"×{likelens.requests / floor:.2f}")
        table.add(subject.name, items, "naive (10 per request, refetch on Previous)", naive.requests,
                  naive.items_returned, naive.unique_items, f"×{naive.requests / floor:.2f}")
    table.notes.append("X bills per item returned, the same item once per UTC day (x-api-facts.md): "
                       "refetched items cost rate budget and latency, not money, within one day.")
    return table


def check_browse(subject: Subject, likelens: Browse, naive: Browse) -> None:
    items = likelens.unique_items
    check(likelens.shown_forward == naive.shown_forward,
          f"{subject.name}: LikeLens and the naive paginator showed different items going forward")
    check(len(likelens.shown_forward) == items == len(set(likelens.shown_forward)),
          f"{subject.name}: the forward browse did not show each item once")
    # Going back shows every page but the last again, in page order from the end.
    pages = [likelens.shown_forward[i:i + DISPLAY_PAGE] for i in range(0, items, DISPLAY_PAGE)]
    expected_back = [i for page in reversed(pages[:-1]) for i in page]
    check(likelens.shown_backward == expected_back, f"{subject.name}: LikeLens' way back was wrong")
    check(naive.shown_backward == expected_back, f"{subject.name}: the naive way back was wrong")
    check(likelens.requests == math.ceil(items / API_PAGE),
          f"{subject.name}: LikeLens sent {likelens.requests} X requests, the floor is "
          f"{math.ceil(items / API_PAGE)}")


async def run_page_source() -> Table:
    results = []
    async with bench_sandbox() as x_sandbox, \
            aiohttp.ClientSession() as session:
        for subject in SUBJECTS:
            cached, uncached = (x_client(session, x_sandbox.base_url, cache=c) for c in (True, False))
            likelens = await browse_likelens(cached, x_sandbox, subject)
            naive = await browse_naive(uncached, x_sandbox, subject)
            check_browse(subject, likelens, naive)
            results.append((subject, likelens, naive))
    return page_source_table(results)


@dataclass
class DiscordBrowse:
    """A browse through the bot: list requests, other X requests, display pages each way."""

    list_requests: int
    other_requests: int
    clicks_forward: int
    clicks_back: int


async def open_browser(
    emulator: TimedEmulator, moderator: Member, command: str, options: dict[str, Any]
) -> Message:
    """Run command as moderator; the paginator message it answered with."""
    opened = emulator.build_slash(command, options, member=moderator)
    await round_trip(emulator, opened, f"/{command}")
    check(opened.response_message_id is not None, f"/{command} answered without a message")
    message: Message = emulator.messages[str(opened.response_message_id)]
    return message


async def click_through(
    emulator: TimedEmulator, moderator: Member, message: Message, *, forward: bool, limit: int = 100,
) -> tuple[Message, int]:
    """Click Next (or Previous) until it is disabled or `limit` clicks; (message now, clicks)."""
    clicks = 0
    while clicks < limit:
        previous, can_go_back, following, can_go_on = pager_buttons(message)
        if not (can_go_on if forward else can_go_back):
            break
        click = emulator.build_click(message, following if forward else previous, member=moderator)
        await round_trip(emulator, click, "a page click")
        message = emulator.messages[message.id]
        clicks += 1
    return message, clicks


async def browse_through_discord(
    world: LikeLensWorld, command: str, options: dict[str, Any], fragment: str
) -> DiscordBrowse:
    """Run command, click Next until it is disabled, then Previous until it is disabled."""
    emulator, moderator = world.emulator, world.driver.moderator
    before = len(world.sandbox.requests)
    message = await open_browser(emulator, moderator, command, options)
    message, forward = await click_through(emulator, moderator, message, forward=True)
    message, back = await click_through(emulator, moderator, message, forward=False)
    sent = [r for r in requests_since(world.sandbox, before) if r.status == 200]
    listing = sum(fragment in r.path for r in sent)
    return DiscordBrowse(listing, len(sent) - listing, forward, back)


async def browse_with_restart(restart_after: int) -> tuple[int, int, int, int]:
    """`/likes liked`: Next `restart_after` times, restart the bot, Next to the end, Previous to the start.

    Returns (list requests before the restart, after it, clicks forward, clicks back).
    """
    fragment = SUBJECTS[1].path_fragment
    with tempfile.TemporaryDirectory(prefix="likelens-bench-restart-") as folder:
        async with TimedEmulator() as emulator, \
                bench_sandbox() as x:
            settings = emulator_settings(emulator, x.base_url, Path(folder) / "likelens.db")
            moderator = emulator.member("moderator")
            async with running_bot(emulator, settings):
                message = await open_browser(emulator, moderator, "likes liked", {})
                message, first = await click_through(emulator, moderator, message, forward=True,
                                                     limit=restart_after)
            before = requests_to(x, fragment)
            # A new process: empty caches and live pagers; the paginator state is in SQLite.
            async with running_bot(emulator, settings):
                message, rest = await click_through(emulator, moderator, message, forward=True)
                message, back = await click_through(emulator, moderator, message, forward=False)
            return before, requests_to(x, fragment) - before, first + rest, back


async def run_through_discord() -> Table:
    table = Table(
        "1b. X requests per browse through Discord (`/likes post` and `/likes liked`, Next to the end, "
        "Previous to the start)",
        ["list", "command", "clicks (forward + back)", "X list requests", "floor", "naive (2 × pages − 1)",
         "other X requests (header lookups)"],
    )
    browses: tuple[tuple[Subject, str, dict[str, Any], int], ...] = (
        (SUBJECTS[0], "likes post", {"post": sandbox.POST_100_LIKES}, 100),
        (SUBJECTS[1], "likes liked", {}, 250),
    )
    async with likelens_world() as world:
        for subject, command, options, items in browses:
            done = await browse_through_discord(world, command, options, subject.path_fragment)
            pages = math.ceil(items / DISPLAY_PAGE)
            check(done.clicks_forward == pages - 1 == done.clicks_back,
                  f"/{command}: {done.clicks_forward} + {done.clicks_back} clicks, "
                  f"expected {pages - 1} each way")
            floor = math.ceil(items / API_PAGE)
            check(done.list_requests == floor,
                  f"/{command}: {done.list_requests} X list requests, the floor is {floor}")
            table.add(subject.name, f"`/{command}`", f"{done.clicks_forward} + {done.clicks_back}",
                      done.list_requests, floor, 2 * pages - 1, done.other_requests)
    restart_at = 12
    before, after, forward, back = await browse_with_restart(restart_at)
    pages = math.ceil(250 / DISPLAY_PAGE)
    check(forward == pages - 1 == back, f"restarted browse: {forward} + {back} clicks, expected {pages - 1}")
    # After the restart: the API page on screen, the one after it, and the first one on the way back.
    check(after <= 3, f"after a restart the browse sent {after} X list requests (at most 3 API pages)")
    table.add("250 liked posts, bot restarted after 12 clicks", "`/likes liked`", f"{forward} + {back}",
              f"{before} + {after} after restart", "2 + 3 (caches lost)", 2 * pages - 1, "—")
    table.notes.append("Header lookups: the post (`GET /2/tweets/:id`) and the account (`/2/users/me`), "
                       "cached by the client for 60 s.")
    table.notes.append(f"Restart row: the bot is replaced after {restart_at} Next clicks (page "
                       f"{restart_at + 1}); the new one rebuilds the paginator from SQLite, caches empty.")
    return table


async def run(quick: bool) -> list[Table]:
    # The lists are small: quick and full runs browse the same 100 and 250 items.
    return [await run_page_source(), await run_through_discord()]


if __name__ == "__main__":
    bench_main(run)
