"""The baseline paginator most bots have: one X request of max_results=10 per display page.

It keeps only the page on screen: Next fetches with that page's `next_token`, Previous refetches
with its `previous_token`. No cache, no wider API pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic

from xapi.models import ItemT, Page

NAIVE_PAGE_SIZE = 10

# fetch(pagination_token) -> one API page of NAIVE_PAGE_SIZE items
NaiveFetch = Callable[[str | None], Awaitable[Page[ItemT]]]


class NaivePager(Generic[ItemT]):
    """Shows one API page of 10 at a time; every move is a new X request."""

    def __init__(self, fetch: NaiveFetch[ItemT]) -> None:
        self._fetch: NaiveFetch[ItemT] = fetch
        self.page: Page[ItemT] | None = None
        self.number = 0

    @property
    def has_next(self) -> bool:
        return self.page is not None and self.page.next_token is not None

    @property
    def has_previous(self) -> bool:
        return self.page is not None and self.page.previous_token is not None

    async def first(self) -> Page[ItemT]:
        self.page, self.number = await self._fetch(None), 0
        return self.page

    async def next(self) -> Page[ItemT]:
        assert self.page is not None and self.page.next_token is not None
        self.page, self.number = await self._fetch(self.page.next_token), self.number + 1
        return self.page

    async def previous(self) -> Page[ItemT]:
        assert self.page is not None and self.page.previous_token is not None
        self.page, self.number = await self._fetch(self.page.previous_token), self.number - 1
        return self.page
