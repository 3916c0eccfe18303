"""The I/O of /likes top: list the account's posts of the period, read what the plan says, rank.

`build_board` lists the account's posts of the period (`GET /2/users/{id}/tweets`, pages of 100,
newest first, stopping at the period's start), records their like counts as trend samples (they
come free with the listing), reads the planned posts' likers (one `liking_users` page each, 4 at a
time) into the like history, and ranks every recorded liker of the period's posts. The decisions
are digests/supporters.py's (pure); this module only carries them out.

A rate limit during the reads stops them: the posts not read yet are deferred to the next board,
and the board is built from what is recorded. Other X errors reach the caller's error handler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from digests.post_checks import XReads
from digests.supporters import (
    DAY_SECONDS,
    MAX_READS_PER_BOARD,
    BoardCost,
    PeriodPost,
    ReadPlan,
    Supporter,
    check_period,
    plan_reads,
    posts_in_period,
    rank_supporters,
)
from store.like_history import LikeHistory
from store.member_links import MemberLinks
from ui.members_embeds import BoardFacts, BoardRow
from xapi import errors

LISTING_PAGE = 100
# 1,000 posts: an account posting more than 11 a day for 90 days gets a board of its newest 1,000.
LISTING_MAX_PAGES = 10
CONCURRENT_READS = 4


@dataclass(frozen=True, slots=True)
class SupportersBoard:
    """One /likes top answer: the period, its posts, the ranked supporters, what was read and cost."""

    days: int
    posts: tuple[PeriodPost, ...]
    supporters: tuple[Supporter, ...]
    plan: ReadPlan
    # Planned posts not read because X's rate limit stopped the reads (next board reads them).
    rate_limited: tuple[str, ...]
    cost: BoardCost
    # False when the period holds more posts than LISTING_MAX_PAGES pages (the newest were used).
    listing_complete: bool = True


async def list_period_posts(
    client: XReads, account_id: str, *, days: int, now: float,
) -> tuple[list[PeriodPost], int, bool]:
    """(the account's posts of the period newest first, posts X returned, whether the listing is whole)."""
    start = now - check_period(days) * DAY_SECONDS
    found: list[PeriodPost] = []
    returned = 0
    token: str | None = None
    for _ in range(LISTING_MAX_PAGES):
        page = await client.user_posts(account_id, max_results=LISTING_PAGE, pagination_token=token)
        returned += len(page.items)
        found += [PeriodPost(p.id, p.created_at.timestamp() if p.created_at else now, p.like_count)
                  for p in page.items]
        oldest = min((p.created_at.timestamp() for p in page.items if p.created_at), default=start)
        token = page.next_token
        if token is None or oldest < start:
            return posts_in_period(found, days=days, now=now), returned, True
    return posts_in_period(found, days=days, now=now), returned, False


async def build_board(
    client: XReads, history: LikeHistory, links: MemberLinks, *, guild_id: int, account_id: str,
    days: int, now: float, max_reads: int = MAX_READS_PER_BOARD,
) -> SupportersBoard:
    """The supporters board of account_id's posts of the last `days` days, as served in guild_id."""
    posts, listed, complete = await list_period_posts(client, account_id, days=days, now=now)
    await history.record_like_counts(
        account_id, {p.post_id: p.like_count for p in posts if p.like_count is not None}, now=now)
    post_ids = [p.post_id for p in posts]
    recorded = await history.likers_of(account_id, post_ids)
    plan = plan_reads(posts, await history.reads_of(account_id, post_ids),
                      {post_id: len(likers) for post_id, likers in recorded.items()}, max_reads=max_reads)
    like_count = {p.post_id: p.like_count for p in posts}
    gate = asyncio.Semaphore(CONCURRENT_READS)
    stopped = asyncio.Event()
    returned: dict[str, int] = {}

    async def read(post_id: str) -> None:
        async with gate:
            if stopped.is_set():
                return
            try:
                page = await client.liking_users(post_id, max_results=100)
            except errors.RateLimited:
                stopped.set()
                return
            returned[post_id] = len(page.items)
            await history.record_read(account_id, post_id, [(u.id, u.username) for u in page.items],
                                      like_count=like_count.get(post_id), now=now)

    await asyncio.gather(*(read(post_id) for post_id in plan.to_read))
    if returned:
        recorded = await history.likers_of(account_id, post_ids)
    members = await links.by_x_ids(guild_id, {r.liker_id for rs in recorded.values() for r in rs})
    supporters = rank_supporters(post_ids, recorded, {x_id: link.member_id for x_id, link in members.items()})
    return SupportersBoard(
        days, tuple(posts), tuple(supporters), plan,
        tuple(p for p in plan.to_read if p not in returned),
        BoardCost(posts_listed=listed, posts_read=len(returned), likers_returned=sum(returned.values())),
        complete,
    )


def board_view(board: SupportersBoard, account_handle: str | None) -> tuple[list[BoardRow], BoardFacts]:
    """What ui.members_embeds.render_top and the chart take from a board."""
    rows = [BoardRow(s.liker_id, s.handle, s.posts_liked, s.member_id) for s in board.supporters]
    facts = BoardFacts(
        account_handle, board.days, posts_in_period=len(board.posts), posts_read=board.cost.posts_read,
        posts_waiting=len(board.plan.deferred) + len(board.rate_limited), cost_low=board.cost.low_dollars,
        cost_high=board.cost.high_dollars, listing_complete=board.listing_complete,
    )
    return rows, facts
