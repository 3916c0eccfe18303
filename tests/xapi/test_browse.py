"""BrowseSource over an in-memory fetch: slicing, Previous without refetch, totals, state round trip."""

from __future__ import annotations

import json

import pytest

from xapi.browse import BrowseSource, BrowseState
from xapi.errors import InvalidInput
from xapi.models import Page, User


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
