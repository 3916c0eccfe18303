"""digests.linked_members and digests.trends on the real XClient, the X sandbox and a real SQLite file."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from digests.linked_members import linked_likers
from digests.trends import post_trend, sample_like_counts
from store.db import open_database
from store.engine import Database
from store.like_history import SAMPLE_MIN_GAP_SECONDS, LikeHistory
from store.member_links import MemberLinks
from tests.xapi.support import make_client
from xapi import errors, sandbox
from xapi.sandbox import XSandbox

GUILD, OTHER_GUILD = 111, 222
OWNER = sandbox.OWNER_ID


@pytest_asyncio.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_database(tmp_path / "likelens.db")
    try:
        yield connection
    finally:
        await connection.close()


async def test_linked_members_among_the_likers_and_the_rest_counted(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    links, history = MemberLinks(conn), LikeHistory(conn)
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox)
        likers = (await client.liking_users(sandbox.POST_MANY_LIKES)).items
        await links.link(GUILD, 501, x_user_id=likers[3].id, handle=likers[3].username, now=time.time())
        await links.link(GUILD, 502, x_user_id=likers[0].id, handle=likers[0].username, now=time.time())
        await links.link(OTHER_GUILD, 900, x_user_id=likers[1].id, handle=likers[1].username, now=time.time())
        found = await linked_likers(client, history, links, guild_id=GUILD, account_id=OWNER,
                                    post_id=sandbox.POST_MANY_LIKES, now=time.time())
    assert [(m.member_id, m.x_user_id) for m in found.linked] == [(502, likers[0].id), (501, likers[3].id)]
    assert (found.listed, found.unlinked, found.like_count) == (100, 98, 140)
    # The likers read are recorded for the supporters board.
    recorded = (await history.likers_of(OWNER, [sandbox.POST_MANY_LIKES]))[sandbox.POST_MANY_LIKES]
    assert len(recorded) == 100 and {r.source for r in recorded} == {"lookup"}


async def test_another_accounts_post_is_refused_before_any_likes_request(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox)
        with pytest.raises(errors.NotAuthorizedForResource):
            await linked_likers(client, LikeHistory(conn), MemberLinks(conn), guild_id=GUILD,
                                account_id=OWNER, post_id=sandbox.POST_OTHER_ACCOUNT, now=time.time())
        with pytest.raises(errors.NotAuthorizedForResource):
            await post_trend(client, LikeHistory(conn), account_id=OWNER, post_id=sandbox.POST_OTHER_ACCOUNT,
                             now=time.time())
    assert x_sandbox.requests_to("/liking_users") == []


async def test_a_trend_grows_one_sample_per_lookup_with_the_newest_likers(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    history = LikeHistory(conn)
    now = time.time()
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox, cache_ttl=0.0)
        first = await post_trend(client, history, account_id=OWNER, post_id=sandbox.POST_7_LIKES, now=now)
        assert [s.like_count for s in first.samples] == [7] and first.newest == ()
        new = x_sandbox.add_likers(sandbox.POST_7_LIKES, 2)
        page = await client.liking_users(sandbox.POST_7_LIKES)
        await history.record_likers(OWNER, sandbox.POST_7_LIKES, [(u.id, u.username) for u in page.items[:2]],
                                    source="lookup", now=now + 10)
        later = now + SAMPLE_MIN_GAP_SECONDS
        second = await post_trend(client, history, account_id=OWNER, post_id=sandbox.POST_7_LIKES, now=later)
    assert [s.like_count for s in second.samples] == [7, 9]
    assert {m.handle for m in second.newest} == {u.username for u in page.items[:2]}
    assert {u.id for u in page.items[:2]} == set(new)


async def test_like_counts_are_sampled_in_batches_of_100_for_the_accounts_posts_only(
    x_sandbox: XSandbox, conn: Database,
) -> None:
    history = LikeHistory(conn)
    own = [p.id for p in x_sandbox.world.posts.values() if p.author_id == OWNER
           and p.id not in x_sandbox.world.deleted_posts]
    async with aiohttp.ClientSession() as session:
        client = make_client(session, x_sandbox, cache_ttl=0.0)
        before = len(x_sandbox.requests_to("/2/tweets"))
        added = await sample_like_counts(client, history, account_id=OWNER,
                                         post_ids=[*own, sandbox.POST_OTHER_ACCOUNT] * 2, now=time.time())
    assert added == len(own)
    assert len(x_sandbox.requests_to("/2/tweets")) - before == 1
    assert await history.like_counts(OWNER, sandbox.POST_OTHER_ACCOUNT) == []
