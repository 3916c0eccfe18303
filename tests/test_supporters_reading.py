"""digests.supporters_reading: /likes top's board, real XClient on the X sandbox, real SQLite file."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from digests.supporters import MAX_READS_PER_BOARD
from digests.supporters_reading import SupportersBoard, board_view, build_board
from store.db import open_database
from store.engine import Database
from store.like_history import LikeHistory
from store.member_links import MemberLinks
from tests.xapi.support import make_client
from xapi import sandbox
from xapi.client import XClient
from xapi.sandbox import XSandbox

GUILD, OTHER_GUILD = 111, 222


@pytest_asyncio.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_database(tmp_path / "likelens.db")
    try:
        yield connection
    finally:
        await connection.close()


def liking_requests(x: XSandbox) -> int:
    return len(x.requests_to("/liking_users"))


async def naive_counts(client: XClient, post_ids: list[str]) -> Counter[str]:
    """Posts liked per liker, from one fresh liking_users page per post (the naive board)."""
    counts: Counter[str] = Counter()
    for post_id in post_ids:
        page = await client.liking_users(post_id, fresh=True)
        counts.update(u.id for u in page.items)
    return counts


async def board(
    client: XClient, conn: Database, *, max_reads: int = MAX_READS_PER_BOARD,
) -> SupportersBoard:
    return await build_board(client, LikeHistory(conn), MemberLinks(conn), guild_id=GUILD,
                             account_id=sandbox.OWNER_ID, days=7, now=time.time(), max_reads=max_reads)


async def test_the_board_ranks_what_x_lists_then_reads_only_posts_with_new_likes(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox, cache_ttl=0.0)
        first = await board(client, conn)
        post_ids = [p.post_id for p in first.posts]
        assert sandbox.POST_100_LIKES in post_ids and sandbox.POST_OTHER_ACCOUNT not in post_ids
        # One page per post that has likes; the post without likes is not read.
        assert first.cost.posts_read == liking_requests(x_sandbox) == len(post_ids) - 1
        assert sandbox.POST_NO_LIKES not in first.plan.to_read
        expected = await naive_counts(client, post_ids)
        assert {s.liker_id: s.posts_liked for s in first.supporters} == dict(expected)
        ranks = [(-s.posts_liked, s.handle.casefold()) for s in first.supporters]
        assert ranks == sorted(ranks)

        before = liking_requests(x_sandbox)
        second = await board(client, conn)
        assert liking_requests(x_sandbox) == before and second.cost.posts_read == 0
        assert second.supporters == first.supporters
        assert second.cost.likers_returned == 0 and second.cost.posts_listed == first.cost.posts_listed

        new_fans = x_sandbox.add_likers(sandbox.POST_7_LIKES, 3)
        third = await board(client, conn)
        assert third.plan.to_read == (sandbox.POST_7_LIKES,)
        assert liking_requests(x_sandbox) == before + 1
        assert {s.liker_id for s in third.supporters} >= set(new_fans)


async def test_linked_members_are_marked_in_their_server_only(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox, cache_ttl=0.0)
        top = (await board(client, conn)).supporters[0]
        links = MemberLinks(conn)
        await links.link(GUILD, 4242, x_user_id=top.liker_id, handle=top.handle, now=time.time())
        await links.link(OTHER_GUILD, 777, x_user_id=top.liker_id, handle=top.handle, now=time.time())
        again = await board(client, conn)
        assert again.supporters[0].member_id == 4242
        assert all(s.member_id is None for s in again.supporters[1:])
        # Served in the other server, the same liker is that server's member.
        other = await build_board(client, LikeHistory(conn), MemberLinks(conn), guild_id=OTHER_GUILD,
                                  account_id=sandbox.OWNER_ID, days=7, now=time.time())
        assert other.supporters[0].member_id == 777


async def test_a_rate_limit_stops_the_reads_and_the_board_uses_what_was_read(
    conn: Database,
) -> None:
    async with XSandbox(rate_limit=3) as x, aiohttp.ClientSession() as session:
        client = make_client(session, x, cache_ttl=0.0)
        first = await board(client, conn)
        assert first.cost.posts_read == 3
        assert len(first.rate_limited) == len(first.plan.to_read) - 3
        assert first.supporters
        # The next board plans only the posts not read yet (the window is still spent: none is read).
        second = await board(client, conn)
        assert set(second.plan.to_read) == set(first.rate_limited)
        assert second.cost.posts_read == 0 and second.supporters == first.supporters


async def test_max_reads_caps_the_requests_and_defers_the_rest(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox, cache_ttl=0.0)
        capped = await board(client, conn, max_reads=2)
        assert capped.cost.posts_read == 2 == liking_requests(x_sandbox)
        assert len(capped.plan.deferred) == len(capped.posts) - 1 - 2


async def test_the_board_view_feeds_the_top_embed_and_chart(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    async with aiohttp.ClientSession() as session:
        built = await board(make_client(session, x_sandbox), conn, max_reads=3)
    rows, facts = board_view(built, "likelens_demo")
    expected = [(s.liker_id, s.posts_liked, s.member_id) for s in built.supporters]
    assert [(r.x_user_id, r.posts_liked, r.member_id) for r in rows] == expected
    assert (facts.posts_in_period, facts.posts_read, facts.posts_waiting) == (
        len(built.posts), 3, len(built.posts) - 1 - 3)
    assert facts.cost_high == built.cost.high_dollars and facts.days == 7
