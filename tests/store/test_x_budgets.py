"""X rate budgets shared through the store: two XClients on two stores of one database (two processes)
never send more than X's limit together, see each other's headers, and no window moves backwards.

Real X sandbox with a small rate limit, real SQLite file or PostgreSQL schema (both engines).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from store.x_budgets import StoreBudgets
from tests.engines import open_test_store
from tests.xapi.support import make_client, oauth1
from xapi import errors
from xapi.client import XClient
from xapi.ratelimit import RateBudget
from xapi.sandbox import OWNER_ID, POST_7_LIKES, POST_MANY_LIKES, POST_NO_LIKES, XSandbox

WINDOW_END = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LATER_WINDOW_END = datetime(2026, 12, 2, 6, 15, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 5, 50, tzinfo=UTC).timestamp()


@pytest.fixture
async def two_ledgers(tmp_path: Path) -> AsyncIterator[tuple[StoreBudgets, StoreBudgets]]:
    """The shared budgets of two processes: each its own store on one database."""
    stores = [await open_test_store(tmp_path), await open_test_store(tmp_path)]
    ledgers = [StoreBudgets(store.conn) for store in stores]
    try:
        yield ledgers[0], ledgers[1]
    finally:
        for ledger, store in zip(ledgers, stores, strict=True):
            await ledger.close()
            await store.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def shared_client(session: aiohttp.ClientSession, sandbox: XSandbox, ledger: StoreBudgets) -> XClient:
    return make_client(session, sandbox, cache_ttl=0, budget_ledger=ledger)


async def test_two_processes_together_send_no_more_than_the_limit_and_the_refused_one_is_told_locally(
    two_ledgers: tuple[StoreBudgets, StoreBudgets], session: aiohttp.ClientSession,
) -> None:
    async with XSandbox(rate_limit=3) as small:
        first, second = (shared_client(session, small, ledger) for ledger in two_ledgers)
        assert (await first.me()).id == OWNER_ID
        assert (await second.me()).id == OWNER_ID
        assert (await first.me()).id == OWNER_ID
        with pytest.raises(errors.RateLimited) as caught:
            await second.me()
        assert caught.value.sent is False and caught.value.status is None and caught.value.endpoint == "me"
        assert caught.value.message == (
            f"The X rate limit for me is spent until {caught.value.reset_at:%H:%M:%S} UTC; nothing was sent.")
        assert caught.value.reset_at.timestamp() > datetime.now(UTC).timestamp()
        assert [r.status for r in small.requests] == [200, 200, 200]


async def test_concurrent_requests_of_two_processes_take_the_window_one_unit_each(
    two_ledgers: tuple[StoreBudgets, StoreBudgets], session: aiohttp.ClientSession,
) -> None:
    async with XSandbox(rate_limit=4) as small:
        first, second = (shared_client(session, small, ledger) for ledger in two_ledgers)
        await first.post(POST_7_LIKES)  # X tells the window: 3 left
        posts = [POST_7_LIKES, POST_MANY_LIKES, POST_NO_LIKES]
        results = await asyncio.gather(
            *(client.post(post, fresh=True) for client in (first, second) for post in posts),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, errors.RateLimited)]
        assert len(refused) == 3 and all(r.sent is False for r in refused), results
        assert sum(not isinstance(r, BaseException) for r in results) == 3, results
        # X never had to refuse: four requests in a window of four.
        assert [r.status for r in small.requests] == [200] * 4


async def test_headers_one_process_received_are_seen_by_the_other(
    two_ledgers: tuple[StoreBudgets, StoreBudgets], session: aiohttp.ClientSession,
) -> None:
    async with XSandbox(rate_limit=5) as small:
        first, second = (shared_client(session, small, ledger) for ledger in two_ledgers)
        await first.me()
        await first.me()
        await second.me()
        budget = second.budget("me")
        assert budget is not None and (budget.limit, budget.remaining) == (5, 2)
        seen = await two_ledgers[1].get("me", oauth1().identity)
        assert seen is not None and (seen.limit, seen.remaining) == (5, 2)


async def test_a_429_one_process_received_makes_the_other_refuse_without_sending(
    two_ledgers: tuple[StoreBudgets, StoreBudgets], session: aiohttp.ClientSession,
) -> None:
    async with XSandbox(rate_limit=1) as small:
        await make_client(session, small, cache_ttl=0).me()  # another app spent the window (unshared)
        first, second = (shared_client(session, small, ledger) for ledger in two_ledgers)
        with pytest.raises(errors.RateLimited) as from_x:
            await first.me()
        assert from_x.value.sent is True
        with pytest.raises(errors.RateLimited) as local:
            await second.me()
        assert local.value.sent is False and local.value.reset_at == from_x.value.reset_at
        assert [r.status for r in small.requests] == [200, 429]


# ---- the ledger itself -------------------------------------------------------------------

async def test_a_window_never_moves_backwards_and_remaining_never_grows_within_one(
    two_ledgers: tuple[StoreBudgets, StoreBudgets],
) -> None:
    one, other = two_ledgers
    await one.record("me", "token-a", RateBudget("me", 75, 10, LATER_WINDOW_END))
    # A late answer from the window before: ignored.
    kept = await other.record("me", "token-a", RateBudget("me", 75, 70, WINDOW_END))
    assert kept == RateBudget("me", 75, 10, LATER_WINDOW_END)
    # An answer sent before others' requests were counted: the smaller count stands.
    kept = await other.record("me", "token-a", RateBudget("me", 75, 12, LATER_WINDOW_END))
    assert kept == RateBudget("me", 75, 10, LATER_WINDOW_END)
    lower = await other.record("me", "token-a", RateBudget("me", 75, 4, LATER_WINDOW_END))
    assert lower == RateBudget("me", 75, 4, LATER_WINDOW_END)
    # The next window starts afresh.
    next_end = datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
    fresh = await one.record("me", "token-a", RateBudget("me", 75, 74, next_end))
    assert fresh == RateBudget("me", 75, 74, next_end)
    assert await other.get("me", "token-a") == fresh
    assert await other.get("me", "token-b") is None


async def test_take_counts_down_refuses_at_zero_and_allows_again_once_the_window_reset(
    two_ledgers: tuple[StoreBudgets, StoreBudgets],
) -> None:
    one, other = two_ledgers
    unknown = await one.take("post", "token-a", now=NOW)
    assert unknown.allowed and unknown.budget is None
    await one.record("post", "token-a", RateBudget("post", 3, 2, WINDOW_END))
    assert [(await ledger.take("post", "token-a", now=NOW)).allowed for ledger in (one, other, one)] == [
        True, True, False]
    refused = await other.take("post", "token-a", now=NOW)
    assert not refused.allowed and refused.budget == RateBudget("post", 3, 0, WINDOW_END)
    # Another identity and another endpoint have their own windows.
    assert (await other.take("post", "token-b", now=NOW)).allowed
    assert (await other.take("me", "token-a", now=NOW)).allowed
    assert (await one.take("post", "token-a", now=WINDOW_END.timestamp())).allowed
