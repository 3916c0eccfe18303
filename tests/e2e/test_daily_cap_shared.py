"""X_DAILY_ITEMS_PER_SERVER across processes: two bot processes (two stores on one database, each with
its own X client) count one server's reads in one place and together never read past its cap.

Real X sandbox, real SQLite file or PostgreSQL schema (both engines); accounts.server_x.ServerX is
what `bot.accounts.x_for(guild)` hands every lookup.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from accounts.server_x import LikeCountHints, ServerX
from store.db import Store
from tests.engines import open_test_store
from tests.xapi.support import make_client
from xapi import errors
from xapi.sandbox import POST_7_LIKES, XSandbox

GUILD_ID = 1234
CAP = 10


@pytest.fixture
async def two_processes(tmp_path: Path, x_sandbox: XSandbox) -> AsyncIterator[tuple[ServerX, ServerX]]:
    """One server's X calls in two processes: each its own store on the database and its own client."""
    stores: list[Store] = [await open_test_store(tmp_path), await open_test_store(tmp_path)]
    async with aiohttp.ClientSession() as session:
        views = [
            ServerX(make_client(session, x_sandbox, cache_ttl=0), conn=store.conn, guild_id=GUILD_ID, cap=CAP,
                    clock=x_sandbox.clock, hints=LikeCountHints())
            for store in stores
        ]
        try:
            yield views[0], views[1]
        finally:
            for store in stores:
                await store.close()


async def test_two_processes_share_one_count_and_together_never_read_past_the_cap(
    two_processes: tuple[ServerX, ServerX], x_sandbox: XSandbox,
) -> None:
    first, second = two_processes
    # Both ask at once for a page of up to 10 likers: only one fits in a cap of 10.
    results = await asyncio.gather(
        first.liking_users(POST_7_LIKES, max_results=10), second.liking_users(POST_7_LIKES, max_results=10),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, errors.DailyCapReached)]
    assert len(refused) == 1, results
    assert str(refused[0]).startswith(f"This server has read its {CAP} X items for today")
    assert len(x_sandbox.requests) == 1
    # One count, seen by both: the 7 likers and their pinned posts (the rest reserved is given back).
    read = await first.read_today()
    assert 7 <= read < CAP and await second.read_today() == read
    # The other process is refused too: up to 10 more would pass the cap; nothing is sent.
    with pytest.raises(errors.DailyCapReached):
        await second.liking_users(POST_7_LIKES, max_results=10)
    assert len(x_sandbox.requests) == 1
    # What still fits passes, in either process, and both see the cap reached once it is.
    while await first.read_today() < CAP:
        await (first if read % 2 else second).me()
        read += 1
    assert await first.read_today() == await second.read_today() == CAP
    assert await first.cap_reached() is not None and await second.cap_reached() is not None
    with pytest.raises(errors.DailyCapReached):
        await first.me()


@pytest.mark.sqlite_only
async def test_a_locked_database_costs_the_count_never_the_answer(
    two_processes: tuple[ServerX, ServerX], tmp_path: Path,
) -> None:
    first, _ = two_processes
    locker = sqlite3.connect(tmp_path / "likelens.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")  # another process writing for long: no reservation can be made
        assert len((await first.liking_users(POST_7_LIKES, max_results=10)).items) == 7
    finally:
        locker.rollback()
        locker.close()
