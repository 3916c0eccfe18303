"""BrowseSource: display pages of 10 over API pages, against the sandbox (request counts) and over an
in-memory fetch (slicing, Previous without refetch, totals, state round trip)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.xapi.support import SettableClock, make_client
from xapi.browse import BrowseSource, BrowseState
from xapi.errors import InvalidInput, RateLimited
from xapi.models import Page, Post, User
from xapi.sandbox import OWNER_ID, XSandbox


async def test_250_liked_posts_forward_and_back_cost_3_requests_then_0_within_cache_time(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    clock = SettableClock()
    client = make_client(session, sandbox, clock=clock)

    async def fetch(token: str | None) -> Page[Post]:
        return await client.liked_posts(OWNER_ID, pagination_token=token)

    source = BrowseSource(fetch)
    shown = [(await source.first()).items]
    while (page := await source.next()).number != len(shown) - 1:
        shown.append(page.items)
    ids = [p.id for items in shown for p in items]
    assert len(shown) == 25 and all(len(items) == 10 for items in shown)
    assert len(ids) == len(set(ids)) == 250
    assert source.total_items == 250
    back = [(await source.previous()).items for _ in range(24)]
    assert [p.id for items in reversed(back) for p in items] == ids[:240]
    assert len(sandbox.requests_to("liked_tweets")) == 3

    # A rebuilt paginator (e.g. after a bot restart) within the cache time costs nothing more.
    clock.advance(59)
    rebuilt = BrowseSource(fetch, state=BrowseState.from_json(source.state().to_json()))
    again = [(await rebuilt.page(n)).items for n in range(25)]
    assert [p.id for items in again for p in items] == ids
    assert len(sandbox.requests_to("liked_tweets")) == 3
    assert client.stats.requests_sent == 3 and client.stats.cache_hits == 3

    clock.advance(2)
    await rebuilt.page(0)
    await BrowseSource(fetch).first()
    assert len(sandbox.requests_to("liked_tweets")) == 4



class ListFetch:
    """Serves `total` users in API pages of `size`, recording every token asked for."""

    def __init__(self, total: int, size: int) -> None:
        self.users = [User(id=str(i), username=f"u{i}", name=f"U{i}") for i in range(total)]
        self.size = size
        self.calls: list[str | None] = []

    async def __call__(self, token: str | None) -> Page[User]:
        self.calls.append(token)
        start = int(token[1:]) if token else 0
        chunk = tuple(self.users[start:start + self.size])
        end = start + self.size
        next_token = f"t{end}" if end < len(self.users) else None
        return Page(items=chunk, result_count=len(chunk), next_token=next_token)


async def test_walks_forward_and_back_fetching_each_api_page_once() -> None:
    fetch = ListFetch(250, 100)
    source = BrowseSource(fetch)
    seen = [u.id for u in (await source.first()).items]
    for _ in range(24):
        seen += [u.id for u in (await source.next()).items]
    assert seen == [str(i) for i in range(250)]
    assert fetch.calls == [None, "t100", "t200"]
    last = await source.next()
    assert last.number == 24 and not last.has_next
    assert source.total_items == 250 and source.total_pages == 25
    for _ in range(24):
        page = await source.previous()
    assert page.number == 0 and not page.has_previous
    assert fetch.calls == [None, "t100", "t200"]


async def test_total_unknown_until_last_api_page_then_known() -> None:
    source = BrowseSource(ListFetch(25, 10), per_page=10)
    first = await source.first()
    assert first.total_pages is None and first.has_next
    await source.next()
    third = await source.next()
    assert [u.id for u in third.items] == ["20", "21", "22", "23", "24"]
    assert third.total_items == 25 and third.total_pages == 3 and not third.has_next


async def test_display_page_spanning_two_api_pages() -> None:
    source = BrowseSource(ListFetch(30, 7), per_page=10)
    page = await source.page(1)
    assert [u.id for u in page.items] == [str(i) for i in range(10, 20)]


async def test_empty_result_is_one_empty_page() -> None:
    source = BrowseSource(ListFetch(0, 100))
    page = await source.first()
    assert page.items == () and not page.has_next and not page.has_previous
    assert source.total_pages == 1 and source.total_items == 0


async def test_restored_state_fetches_only_the_api_page_shown() -> None:
    fetch = ListFetch(250, 100)
    source = BrowseSource(fetch)
    for _ in range(15):
        await source.next()
    saved = json.loads(json.dumps(source.state().to_json()))
    again = ListFetch(250, 100)
    restored = BrowseSource(again, state=BrowseState.from_json(saved))
    page = await restored.show_current()
    assert page.number == 15 and page.items[0].id == "150"
    assert again.calls == ["t100"]
    back = await restored.previous()
    assert back.number == 14 and again.calls == ["t100"]


BAD_STATES = [
    None, {}, {"v": 1},
    {"v": 1, "tokens": ["x"], "sizes": [], "exhausted": False, "current": 0},
    {"v": 1, "tokens": [None], "sizes": [-1], "exhausted": False, "current": 0},
]


@pytest.mark.parametrize("bad", BAD_STATES)
def test_malformed_state_is_refused_with_module_error(bad: object) -> None:
    with pytest.raises(InvalidInput):
        BrowseState.from_json(bad)


async def test_two_quick_clicks_move_two_pages_and_fetch_each_api_page_once() -> None:
    fetch = ListFetch(250, 100)
    source = BrowseSource(fetch)
    await source.page(9)
    pages = await asyncio.gather(source.next(), source.next())
    assert sorted(p.number for p in pages) == [10, 11]
    assert fetch.calls == [None, "t100"]
    assert source.state().tokens == (None, "t100", "t200")


class RefusingFetch(ListFetch):
    """A ListFetch that X refuses (rate limit) while `refuse` is set."""

    refuse = False

    async def __call__(self, token: str | None) -> Page[User]:
        if self.refuse:
            raise RateLimited("spent", reset_at=datetime.now(tz=UTC), sent=False)
        return await super().__call__(token)


async def test_a_failed_fetch_leaves_the_position_unchanged() -> None:
    fetch = RefusingFetch(250, 100)
    source = BrowseSource(fetch)
    await source.page(9)
    fetch.refuse = True
    with pytest.raises(RateLimited):
        await source.next()
    assert source.current == 9 and source.state().sizes == (100,)
    fetch.refuse = False
    assert (await source.next()).number == 10


async def test_a_held_page_is_the_page_that_page_would_show_and_moves_nothing() -> None:
    """What a click answered from memory shows: the same DisplayPage, without a fetch or a move."""
    fetch = ListFetch(250, 100)
    source = BrowseSource(fetch)
    await source.page(3)
    for number in (0, 2, 9):
        held = source.held_page(number)
        assert held is not None and source.current == 3
        assert held == await BrowseSource(ListFetch(250, 100)).page(number)
    # Page 10 needs API page 2: not held, and asking fetches nothing.
    assert source.held_page(10) is None and fetch.calls == [None]
    source.mark_shown(9)
    assert source.current == 9 and source.state().current == 9


async def test_held_pages_know_the_total_once_the_last_api_page_came_and_clamp_like_page() -> None:
    source = BrowseSource(ListFetch(25, 10), per_page=10)
    await source.first()
    held = source.held_page(0)
    assert held is not None and held.total_pages is None and held.has_next
    await source.page(2)
    held = source.held_page(0)
    assert held is not None and held.total_pages == 3
    # Past the end: the last page, as page() clamps it.
    assert source.held_page(7) == await source.page(7)


async def test_a_restored_source_holds_no_page_until_it_fetched_one() -> None:
    fetch = ListFetch(250, 100)
    source = BrowseSource(fetch)
    await source.page(15)
    restored = BrowseSource(ListFetch(250, 100), state=source.state())
    assert restored.held_page(15) is None and restored.held_page(0) is None
    await restored.show_current()
    assert restored.held_page(14) is not None and restored.held_page(9) is None
