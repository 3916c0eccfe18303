"""ServerX: one server's view of its serving account's X client, metered by X_DAILY_ITEMS_PER_SERVER.

Every lookup of a server goes through `bot.accounts.x_for(guild_id)`. A server with a cap reads at
most that many items (users + posts in X's answers, includes too) per UTC day: before a call,
the items it may return are reckoned (a page's max_results, or the post's like count when known;
one item for a single lookup, two with its author) and reserved in the store in one atomic
statement, or the call is refused locally, nothing sent, when they would take the day's count past
the cap; after it, the count is settled to what came back (store/daily_usage.py). The count is one
row per server and day, so every bot process on the database shares it. Answers served from the
shared cache count too: the cap is what a server may read. Without a cap nothing is counted (no
store write per lookup).
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from store import daily_usage
from store.engine import Database
from xapi import errors
from xapi.client import XClient
from xapi.models import Page, Post, User
from xapi.ratelimit import RateBudget
from xapi.stats import ClientStats

log = logging.getLogger("likelens.accounts")
# Like counts of posts seen lately, to reckon what a liking_users page will return (bounded).
_HINTS_MAX = 2048


def cap_sentence(cap: int, resets_at: float) -> str:
    """What a member reads when the server's daily reads are used up."""
    return (f"This server has read its {cap:,} X items for today (the operator's X_DAILY_ITEMS_PER_SERVER): "
            f"lookups work again <t:{int(resets_at)}:R>.")


class LikeCountHints:
    """Recently seen like counts (public numbers), shared by every server's view."""

    def __init__(self) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()

    def note(self, post: Post) -> None:
        if post.like_count is not None:
            self._counts[post.id] = post.like_count
            self._counts.move_to_end(post.id)
            while len(self._counts) > _HINTS_MAX:
                self._counts.popitem(last=False)

    def get(self, post_id: str) -> int | None:
        return self._counts.get(post_id)


def page_items(page: Page[Any]) -> int:
    """Items in a page as the cap counts them: its items and its includes."""
    return len(page.items) + len(page.includes.users) + len(page.includes.posts)


@dataclass
class _Meter:
    """What one call read (set once X answered; 0 when it failed)."""

    read: int = 0


class ServerX:
    """The X calls of one server, on its account's client, within its daily item cap (None: no cap)."""

    def __init__(
        self, client: XClient, *, conn: Database, guild_id: int | None, cap: int | None,
        clock: Callable[[], float], hints: LikeCountHints,
    ) -> None:
        self.client = client
        self._conn = conn
        self._guild_id = guild_id
        self._cap = cap
        self._clock = clock
        self._hints = hints

    # ---- the cap ---------------------------------------------------------------------

    async def read_today(self) -> int:
        """Items this server read today (UTC)."""
        if self._guild_id is None:
            return 0
        return await daily_usage.items_read(self._conn, self._guild_id, daily_usage.utc_day(self._clock()))

    @property
    def cap(self) -> int | None:
        return self._cap

    async def _admit(self, expected: int, endpoint: str) -> None:
        if self._cap is None or self._guild_id is None:
            return
        now = self._clock()
        if await self.read_today() + expected > self._cap:
            raise errors.DailyCapReached(cap_sentence(self._cap, daily_usage.next_utc_midnight(now)),
                                         endpoint=endpoint)

    async def cap_reached(self) -> float | None:
        """When the server's reads are at its cap: when they start again (next UTC midnight); else None."""
        if self._cap is None or self._guild_id is None or await self.read_today() < self._cap:
            return None
        return daily_usage.next_utc_midnight(self._clock())

    def known_like_count(self, post_id: str) -> int | None:
        """The post's like count when a lookup saw it lately (no request), else None."""
        return self._hints.get(post_id)

    async def expect(self, items: int, endpoint: str) -> None:
        """Refuse (DailyCapReached) before anything is sent when a lookup would read items past the cap."""
        await self._admit(items, endpoint)

    async def count(self, items: int) -> None:
        """Add items this server read to today's count (only under a cap)."""
        if self._cap is None or self._guild_id is None or not items:
            return
        await self._add(daily_usage.utc_day(self._clock()), items)

    async def _add(self, day: str, items: int) -> None:
        assert self._guild_id is not None
        try:
            await daily_usage.add_items(self._conn, self._guild_id, day, items)
        except Exception:
            # The answer is already read: a busy database loses the count, never the member's answer.
            log.warning("Could not count %d X items read by server %d", items, self._guild_id, exc_info=True)

    @contextlib.asynccontextmanager
    async def _metered(self, expected: int, endpoint: str) -> AsyncIterator[_Meter]:
        """Reserve expected items (or refuse, nothing sent) before the call; settle to what it read after."""
        meter = _Meter()
        if self._cap is None or self._guild_id is None:
            yield meter
            return
        now = self._clock()
        day = daily_usage.utc_day(now)
        try:
            fits = await daily_usage.reserve_items(self._conn, self._guild_id, day, expected, self._cap)
            reserved = expected
        except Exception:
            # A busy database: decide from today's count as read (the count is added afterwards).
            log.warning("Could not reserve %d X items for server %d", expected, self._guild_id, exc_info=True)
            fits, reserved = await self.read_today() + expected <= self._cap, 0
        if not fits:
            raise errors.DailyCapReached(cap_sentence(self._cap, daily_usage.next_utc_midnight(now)),
                                         endpoint=endpoint)
        try:
            yield meter
        finally:
            if meter.read != reserved:
                await self._add(day, meter.read - reserved)

    # ---- the calls (XClient's, with the same arguments) ------------------------------

    async def liking_users(
        self, post_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[User]:
        known = self._hints.get(post_id)
        async with self._metered(max_results if known is None else min(max_results, known),
                                 "liking_users") as meter:
            page = await self.client.liking_users(
                post_id, max_results=max_results, pagination_token=pagination_token, deadline=deadline,
                fresh=fresh,
            )
            meter.read = page_items(page)
        return page

    async def liked_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        async with self._metered(max_results, "liked_posts") as meter:
            page = await self.client.liked_posts(
                user_id, max_results=max_results, pagination_token=pagination_token, deadline=deadline,
                fresh=fresh,
            )
            meter.read = page_items(page)
        return page

    async def user_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        async with self._metered(max_results, "user_posts") as meter:
            page = await self.client.user_posts(
                user_id, max_results=max_results, pagination_token=pagination_token, deadline=deadline,
                fresh=fresh,
            )
            meter.read = page_items(page)
        for post in page.items:
            self._hints.note(post)
        return page

    async def user_by_username(self, username: str, *, deadline: float | None = None) -> User:
        async with self._metered(1, "user_by_username") as meter:
            user = await self.client.user_by_username(username, deadline=deadline)
            meter.read = 1
        return user

    async def post(self, post_id: str, *, deadline: float | None = None, fresh: bool = False) -> Post:
        # The post and its author (an include).
        async with self._metered(2, "post") as meter:
            post = await self.client.post(post_id, deadline=deadline, fresh=fresh)
            meter.read = 2 if post.author_id else 1
        self._hints.note(post)
        return post

    async def posts(
        self, post_ids: Sequence[str], *, deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        async with self._metered(2 * len(set(post_ids)), "posts") as meter:
            page = await self.client.posts(post_ids, deadline=deadline, fresh=fresh)
            meter.read = page_items(page)
        for post in page.items:
            self._hints.note(post)
        return page

    async def me(self, *, deadline: float | None = None) -> User:
        async with self._metered(1, "me") as meter:
            user = await self.client.me(deadline=deadline)
            meter.read = 1
        return user

    # ---- what /likes status shows -----------------------------------------------------

    @property
    def stats(self) -> ClientStats:
        return self.client.stats

    def budget(self, endpoint: str) -> RateBudget | None:
        return self.client.budget(endpoint)

    def budgets(self) -> list[RateBudget]:
        return self.client.budgets()

    def notices(self) -> tuple[str, ...]:
        return self.client.notices()
