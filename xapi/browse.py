"""Display pages of 10 over API pages of up to 100: the page source of the Discord paginator.

Pure except for the awaited `fetch`: it fetches the next API page by `next_token` only when the
pages already held are used up, never refetches for Previous, and knows the total once X says
there is no next page. Its position (the API page tokens and sizes known) exports to a small
JSON-able value, so a paginator can be rebuilt after a restart with one request at most.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

from xapi.errors import InvalidInput
from xapi.models import Includes, ItemT, Page, Post, User

Fetch = Callable[[str | None], Awaitable[Page[ItemT]]]

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class DisplayPage(Generic[ItemT]):
    """One display page: its items, 0-based number, and what the buttons may offer."""

    items: tuple[ItemT, ...]
    number: int
    includes: Includes
    has_previous: bool
    has_next: bool
    # Known only once the last API page was fetched.
    total_items: int | None
    total_pages: int | None


@dataclass(frozen=True, slots=True)
class BrowseState:
    """Where a BrowseSource stands: the token of every API page known, their sizes, the page shown."""

    tokens: tuple[str | None, ...]
    sizes: tuple[int, ...]
    exhausted: bool
    current: int

    def to_json(self) -> dict[str, Any]:
        """A small JSON-able value (for the store)."""
        return {"v": STATE_VERSION, "tokens": list(self.tokens), "sizes": list(self.sizes),
                "exhausted": self.exhausted, "current": self.current}

    @classmethod
    def from_json(cls, value: object) -> BrowseState:
        """The state exported by `to_json`; InvalidInput if it is not one."""
        if not isinstance(value, dict) or value.get("v") != STATE_VERSION:
            raise InvalidInput("Saved browse state has an unknown format.")
        tokens, sizes = value.get("tokens"), value.get("sizes")
        exhausted, current = value.get("exhausted"), value.get("current")
        if (not isinstance(tokens, list) or not tokens or tokens[0] is not None
                or not all(isinstance(t, str) and t for t in tokens[1:])
                or not isinstance(sizes, list) or len(sizes) > len(tokens)
                or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in sizes)
                or not isinstance(exhausted, bool) or (exhausted and len(sizes) != len(tokens))
                or not isinstance(current, int) or isinstance(current, bool) or current < 0):
            raise InvalidInput("Saved browse state is malformed.")
        return cls(tuple(tokens), tuple(sizes), exhausted, current)


class BrowseSource(Generic[ItemT]):
    """Display pages of `per_page` items over the API pages that `fetch(pagination_token)` returns."""

    def __init__(self, fetch: Fetch[ItemT], *, per_page: int = 10, state: BrowseState | None = None) -> None:
        if per_page < 1:
            raise InvalidInput("per_page must be at least 1.")
        self._fetch: Callable[[str | None], Awaitable[Page[ItemT]]] = fetch
        self._per_page = per_page
        # tokens[i] fetches API page i; tokens[0] is the first page (no token).
        self._tokens: list[str | None] = list(state.tokens) if state else [None]
        self._sizes: list[int] = list(state.sizes) if state else []
        self._exhausted = state.exhausted if state else False
        self._current = state.current if state else 0
        self._pages: dict[int, Page[ItemT]] = {}
        # Two quick clicks must not fetch the same API page twice or interleave their bookkeeping.
        self._lock = asyncio.Lock()

    @property
    def current(self) -> int:
        """The number of the display page last shown."""
        return self._current

    @property
    def total_items(self) -> int | None:
        """How many items there are, once the last API page is known."""
        return sum(self._sizes) if self._exhausted else None

    @property
    def total_pages(self) -> int | None:
        """How many display pages there are (at least 1), once the last API page is known."""
        total = self.total_items
        return None if total is None else max(1, -(-total // self._per_page))

    def state(self) -> BrowseState:
        """The position, to save and later pass back as `state=`."""
        return BrowseState(tuple(self._tokens), tuple(self._sizes), self._exhausted, self._current)

    async def first(self) -> DisplayPage[ItemT]:
        """Display page 0."""
        return await self.page(0)

    async def show_current(self) -> DisplayPage[ItemT]:
        """The page last shown (after a restore, fetching only the API pages it needs)."""
        return await self.page(self._current)

    async def next(self) -> DisplayPage[ItemT]:
        """The page after the current one (the last page again at the end)."""
        async with self._lock:
            return await self._page(self._current + 1)

    async def previous(self) -> DisplayPage[ItemT]:
        """The page before the current one (page 0 at the start)."""
        async with self._lock:
            return await self._page(max(0, self._current - 1))

    async def page(self, number: int) -> DisplayPage[ItemT]:
        """Display page `number`, clamped to the last page if X runs out first."""
        async with self._lock:
            return await self._page(number)

    async def _page(self, number: int) -> DisplayPage[ItemT]:
        start = max(0, number) * self._per_page
        while not self._exhausted and sum(self._sizes) < start + self._per_page:
            await self._load(len(self._sizes))
        known = sum(self._sizes)
        if start >= known:
            start = max(0, (known - 1) // self._per_page * self._per_page)
        self._current = start // self._per_page
        items, includes = await self._slice(start, min(start + self._per_page, known))
        return self._display(start, known, items, includes)

    def held_page(self, number: int) -> DisplayPage[ItemT] | None:
        """Display page `number` as `page` would show it now, if no fetch is needed; else None.

        Moves nothing (a click answered from memory calls `mark_shown` once it shows the page).
        """
        start = max(0, number) * self._per_page
        known = sum(self._sizes)
        if not self._exhausted and known < start + self._per_page:
            return None
        if start >= known:
            start = max(0, (known - 1) // self._per_page * self._per_page)
        stop = min(start + self._per_page, known)
        items: list[ItemT] = []
        users: list[User] = []
        posts: list[Post] = []
        offset = 0
        for index, size in enumerate(self._sizes):
            if offset < stop and start < offset + size:
                page = self._pages.get(index)
                if page is None:
                    return None
                items.extend(page.items[max(0, start - offset):stop - offset])
                users.extend(page.includes.users)
                posts.extend(page.includes.posts)
            offset += size
        return self._display(start, known, tuple(items), Includes(users=tuple(users), posts=tuple(posts)))

    def mark_shown(self, number: int) -> None:
        """Make display page `number` (a held page just shown) the current one."""
        self._current = number

    def _display(
        self, start: int, known: int, items: tuple[ItemT, ...], includes: Includes,
    ) -> DisplayPage[ItemT]:
        number = start // self._per_page
        return DisplayPage(
            items=items, number=number, includes=includes, has_previous=number > 0,
            has_next=known > start + self._per_page or not self._exhausted,
            total_items=self.total_items, total_pages=self.total_pages,
        )

    async def _load(self, index: int) -> Page[ItemT]:
        page = self._pages.get(index)
        if page is not None:
            return page
        page = await self._fetch(self._tokens[index])
        self._pages[index] = page
        if index == len(self._sizes):
            self._sizes.append(len(page.items))
            if page.next_token and page.next_token not in self._tokens:
                self._tokens.append(page.next_token)
            else:
                self._exhausted = True
        return page

    async def _slice(self, start: int, stop: int) -> tuple[tuple[ItemT, ...], Includes]:
        items: list[ItemT] = []
        users: list[User] = []
        posts: list[Post] = []
        offset = 0
        for index, size in enumerate(self._sizes):
            if offset < stop and start < offset + size:
                page = await self._load(index)
                items.extend(page.items[max(0, start - offset):stop - offset])
                users.extend(page.includes.users)
                posts.extend(page.includes.posts)
            offset += size
        return tuple(items), Includes(users=tuple(users), posts=tuple(posts))
