"""Reading digest subjects from X: SubjectReader shares each X call between a tick's digests.

A tick reads a subject at most once per X account (whatever number of digests follow it), keeps a
quarter of each endpoint's window for moderators (BudgetReserved), and batches the like counts of
post subjects.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from digests import policy, recorded_likes
from digests.subjects import RECENT_DAYS, RECENT_MAX_POSTS, RECENT_POSTS_PAGE
from store import digests as store
from store.digests import Digest
from ui.digest_embeds import DigestEntry, profile_url
from ui.embeds import link_username
from xapi import errors
from xapi.client import XClient
from xapi.models import Page, Post, User
from xapi.validation import MAX_BATCH_IDS

if TYPE_CHECKING:
    from bot import LikesBot


class BudgetReserved(Exception):
    """Digests may not spend the rest of this endpoint's window (it stays for moderators)."""

    def __init__(self, endpoint: str, reset_at: datetime) -> None:
        super().__init__(f"the rest of the {endpoint} budget is kept for moderators")
        self.endpoint = endpoint
        self.reset_at = reset_at


@dataclass(frozen=True, slots=True)
class Fetched:
    """What X returned for a subject: items (key, entry), newest first."""

    items: list[tuple[str, DigestEntry]]
    # Likes as X counts them on what was read (a post, or the posts of a `recent` run).
    like_count: int | None = None
    more: bool = False
    # The posts of a `recent` run whose likers were read.
    checked_posts: tuple[str, ...] = ()
    # What this run left out and why, for the run log ("skipped post 1: X says it no longer exists").
    skipped: tuple[str, ...] = ()




class SubjectReader:
    """Reads subjects from X for one tick: each X call is made at most once per tick."""

    def __init__(
        self, bot: LikesBot, *, x: XClient, reserve: bool, deadline: float, account: User | None = None,
        fresh: bool = False,
    ) -> None:
        self.bot = bot
        # One X account's client: a reader shares requests within an account, never across accounts.
        self.x = x
        self.reserve = reserve
        # /digest run reads X afresh; a tick may use a page cached up to a minute earlier by /likes
        # (likers newer than that page wait for the next run: nothing is lost).
        self.fresh = fresh
        self.deadline = deadline
        # The connected account never changes while the bot runs: read it once, not every tick.
        self.known_account = account
        self._calls: dict[tuple[str, str], asyncio.Future[Any]] = {}
        # Post subjects whose like_count is read in one batched lookup (up to 100 posts a request).
        self._posts_to_count: list[str] = []
        self._like_counts: dict[str, int | None] = {}

    async def _once(self, key: tuple[str, str], call: Callable[[], Awaitable[Any]]) -> Any:
        # One shared future per call: digests of the same subject share one X request.
        future = self._calls.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._calls[key] = future
            try:
                if self.reserve:
                    self._check_budget(key[0])
                future.set_result(await call())
            except Exception as error:
                future.set_exception(error)
        # Shield: an observer of the shared future must not cancel it for the others.
        return await asyncio.shield(future)

    def _check_budget(self, endpoint: str) -> None:
        budget = self.x.budget(endpoint)
        if not policy.digests_may_spend(budget, self.bot.clock().timestamp()):
            assert budget is not None
            raise BudgetReserved(endpoint, budget.reset_at)

    async def account(self) -> User:
        if self.known_account is None:
            self.known_account = await self._once(("me", ""), lambda: self.x.me(deadline=self.deadline))
        return self.known_account

    async def likers(self, post_id: str) -> Page[User]:
        page: Page[User] = await self._once(
            ("liking_users", post_id),
            lambda: self.x.liking_users(post_id, deadline=self.deadline, fresh=self.fresh),
        )
        return page

    def expect_posts(self, post_ids: Iterable[str]) -> None:
        """Post subjects this tick will read: their like_counts come in one lookup per 100 posts."""
        for post_id in post_ids:
            if post_id not in self._like_counts and post_id not in self._posts_to_count:
                self._posts_to_count.append(post_id)

    async def like_count(self, post_id: str) -> int | None:
        if post_id not in self._like_counts:
            # The first post asked for brings the like_counts of up to 99 other expected posts.
            others = [p for p in self._posts_to_count if p != post_id][: MAX_BATCH_IDS - 1]
            batch = [post_id, *others]
            self._posts_to_count = [p for p in self._posts_to_count if p not in batch]
            counts = await self._count_likes(batch)
            self._like_counts.update(dict.fromkeys(batch, None) | counts)
        return self._like_counts[post_id]

    async def _count_likes(self, post_ids: list[str]) -> dict[str, int | None]:
        try:
            page: Page[Post] = await self._once(
                ("posts", ",".join(post_ids)),
                lambda: self.x.posts(post_ids, deadline=self.deadline, fresh=self.fresh),
            )
        except (errors.XApiError, BudgetReserved):
            # The like count only goes to the run log: never fail a run for it (it is then unknown).
            return {}
        return {post.id: post.like_count for post in page.items}

    async def _likers_of(self, digest: Digest, post_id: str, recorded: bool) -> Page[User]:
        """The post's likers: recorded by the live feed (digests/recorded_likes.py), else from X."""
        if recorded and digest.account_id:
            return await recorded_likes.likers_page(self.bot.store.conn, digest.account_id, post_id)
        return await self.likers(post_id)

    async def read(self, digest: Digest) -> Fetched:
        """The subject's current items, newest first."""
        recorded = await recorded_likes.covered(self.bot.store.conn, digest, self.bot.clock().timestamp())
        if digest.subject_kind == "post":
            page = await self._likers_of(digest, digest.subject_id, recorded)
            like_count = await self.like_count(digest.subject_id)
            await self._record(digest, digest.subject_id, page)
            if like_count is not None:
                await self._record_counts(digest, {digest.subject_id: like_count})
            entries = [(u.id, _liker_entry(u)) for u in page.items]
            return Fetched(entries, like_count, page.next_token is not None)
        account = await self.account()
        if digest.subject_kind == "liked":
            liked: Page[Post] = await self._once(
                ("liked_posts", account.id),
                lambda: self.x.liked_posts(account.id, deadline=self.deadline, fresh=self.fresh),
            )
            posts_liked = [(p.id, _liked_entry(p, liked.includes.user(p.author_id))) for p in liked.items]
            return Fetched(posts_liked, None, liked.next_token is not None)
        posts: Page[Post] = await self._once(
            ("user_posts", account.id),
            lambda: self.x.user_posts(
                account.id, max_results=RECENT_POSTS_PAGE, deadline=self.deadline, fresh=self.fresh),
        )
        since = self.bot.clock() - timedelta(days=RECENT_DAYS)
        recent = [p for p in posts.items if p.created_at is None or p.created_at >= since]
        if digest.baseline_done and not recorded:
            # The baseline read them all (as recorded likes do: they cost no request); then
            # RECENT_MAX_POSTS a run: posts never checked (new ones) first, then the least recently
            # checked, newest first among equals (a stable sort).
            checked = await store.post_checks(self.bot.store.conn, digest.id)
            recent = sorted(recent, key=lambda p: checked.get(p.id, -math.inf))[:RECENT_MAX_POSTS]
        items: list[tuple[str, DigestEntry]] = []
        read: list[Post] = []
        skipped: list[str] = []
        for post in recent:
            try:
                page = await self._likers_of(digest, post.id, recorded)
            except (errors.NotFound, errors.NotAuthorizedForResource) as gone:
                # One post deleted or hidden since X listed it: skip it this run, not the whole digest.
                skipped.append(f"skipped post {post.id}: {_gone_phrase(gone)}")
                continue
            read.append(post)
            await self._record(digest, post.id, page)
            items += [(f"{post.id}:{u.id}", _liker_entry(u, post)) for u in page.items]
        # The listing carries every recent post's like count: samples for /likes trend at no cost.
        listed = {p.id: p.like_count for p in posts.items if p.like_count is not None}
        await self._record_counts(digest, listed)
        counts = [p.like_count for p in read]
        likes = None if None in counts else sum(c for c in counts if c is not None)
        return Fetched(items, likes, checked_posts=tuple(p.id for p in read), skipped=tuple(skipped))


    async def _record(self, digest: Digest, post_id: str, page: Page[User]) -> None:
        """The likers read are recorded (source digest) for /likes top and /likes trend."""
        if digest.account_id and page.items:
            await self.bot.like_history.record_likers(
                digest.account_id, post_id, [(u.id, u.username) for u in page.items], source="digest",
                now=self.bot.clock().timestamp())

    async def _record_counts(self, digest: Digest, counts: dict[str, int]) -> None:
        if digest.account_id and counts:
            await self.bot.like_history.record_like_counts(digest.account_id, counts,
                                                           now=self.bot.clock().timestamp())


def _gone_phrase(error: errors.XApiError) -> str:
    if isinstance(error, errors.NotFound):
        return "X says it no longer exists"
    return "X no longer lets the account see its likes"


def _liker_entry(user: User, post: Post | None = None) -> DigestEntry:
    detail = user.name if post is None else f"{user.name} · on “{post.text[:60]}”"
    return DigestEntry(f"@{user.username}", profile_url(user), detail, x_user_id=user.id)


def _liked_entry(post: Post, author: User | None) -> DigestEntry:
    detail = f"by @{author.username}" if author else ""
    return DigestEntry(post.text[:100], post.url(link_username(author.username) if author else None), detail)

