"""XClient's rate budgets, cache, single-flight and daily counters, against the local X sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest

from tests.xapi.support import SettableClock, make_client
from xapi import errors
from xapi.caching import TTLCache
from xapi.sandbox import OWNER_ID, POST_7_LIKES, POST_MANY_LIKES, POST_NO_LIKES, XSandbox

# ---- rate budget -------------------------------------------------------------------------

async def test_spent_budget_refuses_locally_with_the_reset_time(session: aiohttp.ClientSession) -> None:
    async with XSandbox(rate_limit=2) as small:
        client = make_client(session, small, cache_ttl=0)
        await client.liking_users(POST_7_LIKES)
        budget = client.budget("liking_users")
        assert budget is not None and budget.limit == 2 and budget.remaining == 1
        await client.liking_users(POST_7_LIKES)
        with pytest.raises(errors.RateLimited) as caught:
            await client.liking_users(POST_7_LIKES)
        assert caught.value.sent is False and caught.value.endpoint == "liking_users"
        assert caught.value.reset_at.timestamp() > datetime.now().timestamp()
        assert len(small.requests) == 2
        # Other endpoints keep their own budget.
        assert (await client.post(POST_7_LIKES)).id == POST_7_LIKES
        assert [b.endpoint for b in client.budgets()] == ["liking_users", "post"]


async def test_429_from_x_is_remembered_so_the_next_call_sends_nothing(
    session: aiohttp.ClientSession,
) -> None:
    async with XSandbox(rate_limit=1) as small:
        await make_client(session, small, cache_ttl=0).me()
        client = make_client(session, small, cache_ttl=0)  # same token, budget unknown to this client
        with pytest.raises(errors.RateLimited) as caught:
            await client.me()
        assert caught.value.sent is True
        with pytest.raises(errors.RateLimited) as again:
            await client.me()
        assert again.value.sent is False
        assert [r.status for r in small.requests] == [200, 429]


async def test_budget_resets_when_the_window_ends(session: aiohttp.ClientSession) -> None:
    clock = SettableClock()
    async with XSandbox(rate_limit=1, clock=clock) as small:
        client = make_client(session, small, cache_ttl=0, clock=clock)
        await client.me()
        with pytest.raises(errors.RateLimited):
            await client.me()
        clock.advance(901)
        assert (await client.me()).id == OWNER_ID
        assert len(small.requests) == 2


# ---- cache and single-flight -------------------------------------------------------------

async def test_identical_concurrent_calls_share_one_request(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox)
    sandbox.faults.latency_seconds = 0.05
    pages = await asyncio.gather(*(client.liking_users(POST_7_LIKES) for _ in range(8)))
    assert len(sandbox.requests) == 1
    assert all(p == pages[0] for p in pages)
    assert client.stats.singleflight_joins == 7 and client.stats.requests_sent == 1


async def test_different_calls_are_not_merged(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    client = make_client(session, sandbox)
    await asyncio.gather(client.liking_users(POST_7_LIKES), client.liking_users(POST_7_LIKES, max_results=5),
                         client.liking_users(POST_MANY_LIKES))
    assert len(sandbox.requests) == 3


async def test_cache_is_bounded(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    client = make_client(session, sandbox, cache_size=1)
    await client.post(POST_7_LIKES)
    await client.post(POST_MANY_LIKES)
    await client.post(POST_7_LIKES)  # evicted by the second
    assert len(sandbox.requests) == 3


async def test_a_cache_shared_between_clients_is_keyed_by_token(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    shared: TTLCache[Any] = TTLCache(ttl=60.0, max_size=16, clock=time.time)
    first = make_client(session, sandbox, cache=shared)
    same_token = make_client(session, sandbox, cache=shared)
    other_token = make_client(session, sandbox, "bearer", cache=shared)
    await first.post(POST_7_LIKES)
    assert (await same_token.post(POST_7_LIKES)).id == POST_7_LIKES
    assert len(sandbox.requests) == 1 and same_token.stats.cache_hits == 1
    # X answers per token (protected accounts, private likes): another token never gets this answer.
    assert (await other_token.post(POST_7_LIKES)).id == POST_7_LIKES
    assert other_token.stats.cache_hits == 0
    assert [r.auth_kind for r in sandbox.requests] == ["oauth1", "bearer"]


@pytest.fixture
def far_east_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+14 (POSIX TZ, no tzdata needed), restored afterwards."""
    monkeypatch.setenv("TZ", "KIRI-14")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_stats_count_items_by_kind_and_start_again_each_utc_day(
    sandbox: XSandbox, session: aiohttp.ClientSession, far_east_local_time: None,
) -> None:
    # 23:59:30 UTC on 1 December is already 13:59:30 on 2 December in local time (UTC+14):
    # a counter keyed by the local day would neither start on 1 December nor roll over a minute later.
    clock = SettableClock(start=datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC).timestamp())
    client = make_client(session, sandbox, clock=clock)
    page = await client.liking_users(POST_7_LIKES)
    stats = client.stats
    assert stats.day == date(2026, 12, 1)
    assert stats.items_read["users"] == 7 + len(page.includes.users)
    assert stats.items_read["posts"] == len(page.includes.posts)
    clock.advance(60)
    assert client.stats.day == date(2026, 12, 2)
    assert client.stats.requests_sent == 0 and client.stats.items_read["users"] == 0


async def test_a_fresh_read_bypasses_the_cache_stores_its_answer_and_still_single_flights(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox)
    assert len((await client.liking_users(POST_NO_LIKES)).items) == 0
    assert (await client.post(POST_NO_LIKES)).like_count == 0
    sandbox.add_likers(POST_NO_LIKES, 2)
    # Within the cache's minute: a plain read gets the old page, a fresh one asks X.
    assert len((await client.liking_users(POST_NO_LIKES)).items) == 0
    assert len((await client.liking_users(POST_NO_LIKES, fresh=True)).items) == 2
    # The fresh answer replaced the cached one.
    assert len((await client.liking_users(POST_NO_LIKES)).items) == 2
    assert (await client.post(POST_NO_LIKES, fresh=True)).like_count == 2
    assert len(sandbox.requests) == 4
    sandbox.faults.latency_seconds = 0.05
    await asyncio.gather(*(client.liking_users(POST_NO_LIKES, fresh=True) for _ in range(4)))
    assert len(sandbox.requests) == 5 and client.stats.singleflight_joins == 3
