"""The /likes paginators alive in this process: a bounded LRU of page sources, one lock per message.

A live pager holds what a click needs to answer from memory (the stored record and the page
source); the store holds the same state for clicks after a restart or an eviction.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import discord

from store.browse_state import BrowseRecord
from xapi.browse import BrowseSource, DisplayPage
from xapi.models import PartialError

LIVE_PAGERS = 256
# Rendered pages kept per live pager: one API page of display pages (beyond it, they start over).
RENDERED_PAGES = 10
# (page number, has previous, has next, total pages, partial errors seen): what a rendered page shows.
RenderKey = tuple[int, bool, bool, int | None, int]
# A live source idle this long is dropped; the next click rebuilds it from the store.
LIVE_IDLE_SECONDS = 15 * 60


@dataclass(slots=True)
class FetchHooks:
    """What a page source's fetch shares with its pager: X's partial errors, and the click to defer."""

    problems: list[PartialError] = field(default_factory=list)
    # Set while a click is being answered: deferred before its source asks X (Discord's 3 s deadline).
    defer_click: discord.Interaction | None = None
    # X id → member id of the likers fetched who linked their X account in the pager's server (/link).
    members: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ShownPage:
    """A rendered page: its embed and buttons, and (once serialized) a click's whole answer showing it."""

    embed: discord.Embed
    view: discord.ui.View | None
    # The body of the callback that shows this page in place of the clicked one (type 7), ready to send.
    body: bytes | None = None


def render_key(page: DisplayPage[Any], problems: list[PartialError]) -> RenderKey:
    """What a rendered page shows, beyond its items: two pages with the same key look the same."""
    return page.number, page.has_previous, page.has_next, page.total_pages, len(problems)


@dataclass(slots=True)
class LivePager:
    """One message's live source, the lock that serializes its clicks, and what its fetches share."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    source: BrowseSource[Any] | None = None
    hooks: FetchHooks = field(default_factory=FetchHooks)
    touched: float = 0.0
    # The stored record (owner, server, what is browsed): held with the source, dropped with it.
    record: BrowseRecord | None = None
    # Pages already rendered, by what they show: a click back to one answers without rendering it again.
    rendered: dict[RenderKey, ShownPage] = field(default_factory=dict)

    def remember(self, key: RenderKey, shown: ShownPage) -> ShownPage:
        """Keep shown under key; beyond RENDERED_PAGES the one rendered longest ago goes."""
        self.rendered.pop(key, None)
        while len(self.rendered) >= RENDERED_PAGES:
            del self.rendered[next(iter(self.rendered))]
        self.rendered[key] = shown
        return shown

    def drop_source(self) -> None:
        """Forget the source and everything built from it (the store keeps the state)."""
        self.source, self.hooks, self.record, self.rendered = None, FetchHooks(), None, {}


class LivePagers:
    """Bounded LRU of live pagers keyed by state id; idle sources are dropped after `idle_seconds`."""

    def __init__(self, *, max_size: int = LIVE_PAGERS, idle_seconds: float = LIVE_IDLE_SECONDS) -> None:
        self.max_size = max_size
        self.idle_seconds = idle_seconds
        self._entries: OrderedDict[str, LivePager] = OrderedDict()

    def entry(self, browse_id: str, now: float) -> LivePager:
        """The live pager of browse_id (new and empty if unknown); marks it most recently used."""
        live = self._entries.get(browse_id)
        if live is None:
            live = self._entries[browse_id] = LivePager()
        elif now - live.touched > self.idle_seconds and not live.lock.locked():
            live.drop_source()
        live.touched = now
        self._entries.move_to_end(browse_id)
        self._evict(now)
        return live

    def live_record(self, browse_id: str, now: float) -> BrowseRecord | None:
        """The record of browse_id's live source, if it has one not idle; creates and touches nothing."""
        live = self._entries.get(browse_id)
        if live is None or live.source is None or now - live.touched > self.idle_seconds:
            return None
        return live.record

    def drop(self, browse_id: str) -> None:
        self._entries.pop(browse_id, None)

    def clear(self) -> None:
        """Forget every live source (the next clicks rebuild them from the store)."""
        self._entries.clear()

    def _evict(self, now: float) -> None:
        # Oldest first: pagers idle too long go (even under max_size: nobody may click them again),
        # then the least recently used down to max_size. A pager mid-click keeps its lock: skip it.
        for browse_id in list(self._entries):
            live = self._entries[browse_id]
            idle = now - live.touched > self.idle_seconds
            if not idle and len(self._entries) <= self.max_size:
                return
            if not live.lock.locked():
                del self._entries[browse_id]

    def __len__(self) -> int:
        return len(self._entries)
