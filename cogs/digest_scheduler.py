"""DigestScheduler: the one loop that runs due digests, and the run of one digest.

A tick reads only the due digests (indexed `next_run_at`), shares X requests between digests of
the same subject, leaves a quarter of each endpoint's window to moderators, and delivers each
run's message with a nonce derived from (digest, run) before recording it delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord

from cogs import digest_schedule as schedule
from cogs.digest_subjects import RECENT_DAYS, RECENT_MAX_POSTS, RECENT_POSTS_PAGE, describe, item_noun
from store import digests as store
from store.digests import Digest, PendingRun
from ui.digest_embeds import DigestEntry, profile_url, render_baseline, render_digest
from ui.embeds import link_username
from ui.text import one_line, plural, safe
from xapi import errors
from xapi.models import Page, Post, User
from xapi.validation import MAX_BATCH_IDS

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.digests")

TICK_SECONDS = 30.0
MAX_DIGESTS_PER_TICK = 200
# What the bot needs in a digest's channel, with the names Discord's settings show.
NEEDED_PERMISSIONS = {
    "view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links",
}
GUILD_LEFT_REASON = (
    "LikeLens is no longer in this server. Invite it again, then `/digest resume` (or `/digest remove`)"
)
# Discord drops a repeated nonce only for "a few minutes": an older pending run is looked for in
# the channel's recent history before it is sent again.
NONCE_TRUST_SECONDS = 240.0
HISTORY_SEARCH_LIMIT = 50
# How much of X's error text a digest's reason keeps.
X_TEXT_LIMIT = 300

Status = Literal[
    "baseline", "posted", "nothing_new", "rate_limited", "failed", "paused", "disabled", "skipped",
]


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


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run did, as a sentence for /digest run."""

    status: Status
    text: str
    posted: int = 0
    message: discord.Message | None = None


@dataclass
class TickReport:
    """What one tick did; rows_read is the number of digest rows the due query returned."""

    rows_read: int = 0
    outcomes: dict[int, RunOutcome] = field(default_factory=dict)
    x_requests: int = 0
    seconds: float = 0.0


def missing_permissions(channel: discord.abc.GuildChannel) -> list[str]:
    """The permissions the bot lacks in channel to post digests there (names as Discord shows them)."""
    perms = channel.permissions_for(channel.guild.me)
    return [label for name, label in NEEDED_PERMISSIONS.items() if not getattr(perms, name)]


def x_failure_phrase(error: errors.XApiError) -> tuple[str, str]:
    """(what failed, in plain words; when to resume) for a run X failed; X's own text goes to the run log."""
    if isinstance(error, errors.ServerError | errors.Timeout | errors.UndecodableResponse):
        return "X had server errors", "When X is back"
    if isinstance(error, errors.UsageCapped):
        return "the X app reached its usage cap", "When X's usage period resets"
    if isinstance(error, errors.Unauthorized | errors.UnsupportedAuthentication | errors.MissingUserContext):
        return "X rejected LikeLens' credentials", "When the bot's operator has fixed the X keys"
    if isinstance(error, errors.ClientForbidden):
        return "X does not let this X app use this endpoint", "When the bot's operator has fixed the X app"
    # Anything else: X's words, shown literally (markdown escaped), on one line, short.
    return f"X refused the request: {safe(one_line(error.message), X_TEXT_LIMIT)}", "Then"


def nonce_for(digest_id: int, run_id: int) -> str:
    """The message nonce of a run (Discord allows 25 characters): the same on every retry."""
    return f"d{digest_id}r{run_id}"[:25]


class SubjectReader:
    """Reads subjects from X for one tick: each X call is made at most once per tick."""

    def __init__(
        self, bot: LikesBot, *, reserve: bool, deadline: float, account: User | None = None,
        fresh: bool = False,
    ) -> None:
        self.bot = bot
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
        budget = self.bot.x.budget(endpoint)
        if not schedule.digests_may_spend(budget, self.bot.clock().timestamp()):
            assert budget is not None
            raise BudgetReserved(endpoint, budget.reset_at)

    async def account(self) -> User:
        if self.known_account is None:
            self.known_account = await self._once(("me", ""), lambda: self.bot.x.me(deadline=self.deadline))
        return self.known_account

    async def likers(self, post_id: str) -> Page[User]:
        page: Page[User] = await self._once(
            ("liking_users", post_id),
            lambda: self.bot.x.liking_users(post_id, deadline=self.deadline, fresh=self.fresh),
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
                lambda: self.bot.x.posts(post_ids, deadline=self.deadline, fresh=self.fresh),
            )
        except (errors.XApiError, BudgetReserved):
            # The like count only goes to the run log: never fail a run for it (it is then unknown).
            return {}
        return {post.id: post.like_count for post in page.items}

    async def read(self, digest: Digest) -> Fetched:
        """The subject's current items, newest first."""
        if digest.subject_kind == "post":
            page = await self.likers(digest.subject_id)
            like_count = await self.like_count(digest.subject_id)
            entries = [(u.id, _liker_entry(u)) for u in page.items]
            return Fetched(entries, like_count, page.next_token is not None)
        account = await self.account()
        if digest.subject_kind == "liked":
            liked: Page[Post] = await self._once(
                ("liked_posts", account.id),
                lambda: self.bot.x.liked_posts(account.id, deadline=self.deadline, fresh=self.fresh),
            )
            posts_liked = [(p.id, _liked_entry(p, liked.includes.user(p.author_id))) for p in liked.items]
            return Fetched(posts_liked, None, liked.next_token is not None)
        posts: Page[Post] = await self._once(
            ("user_posts", account.id),
            lambda: self.bot.x.user_posts(
                account.id, max_results=RECENT_POSTS_PAGE, deadline=self.deadline, fresh=self.fresh),
        )
        since = self.bot.clock() - timedelta(days=RECENT_DAYS)
        recent = [p for p in posts.items if p.created_at is None or p.created_at >= since]
        if digest.baseline_done:
            # The baseline read them all; then RECENT_MAX_POSTS a run: posts never checked (new ones)
            # first, then the least recently checked, newest first among equals (a stable sort).
            checked = await store.post_checks(self.bot.store.conn, digest.id)
            recent = sorted(recent, key=lambda p: checked.get(p.id, -math.inf))[:RECENT_MAX_POSTS]
        items: list[tuple[str, DigestEntry]] = []
        for post in recent:
            page = await self.likers(post.id)
            items += [(f"{post.id}:{u.id}", _liker_entry(u, post)) for u in page.items]
        counts = [p.like_count for p in recent]
        likes = None if None in counts else sum(c for c in counts if c is not None)
        return Fetched(items, likes, checked_posts=tuple(p.id for p in recent))


def _liker_entry(user: User, post: Post | None = None) -> DigestEntry:
    detail = user.name if post is None else f"{user.name} · on “{post.text[:60]}”"
    return DigestEntry(f"@{user.username}", profile_url(user), detail)


def _liked_entry(post: Post, author: User | None) -> DigestEntry:
    detail = f"by @{author.username}" if author else ""
    return DigestEntry(post.text[:100], post.url(link_username(author.username) if author else None), detail)


def run_marker(digest_id: int, run_number: int) -> str:
    """What a digest message shows of its run (its ordinal within the digest), to find it in history."""
    return f"digest #{digest_id} · run {run_number}"


def baseline_marker(digest_id: int) -> str:
    # A digest has one baseline ever: its id tells it apart.
    return f"(digest #{digest_id})"


def run_message(digest_id: int, run: PendingRun) -> tuple[str | None, discord.Embed | None]:
    """The run's message as sent (every retry sends exactly this): content and embed with the marker."""
    payload: dict[str, Any] = json.loads(run.payload)
    content: str | None = payload.get("content")
    embed = discord.Embed.from_dict(payload["embed"]) if payload.get("embed") else None
    if embed is not None:
        footer = embed.footer.text or ""
        marker = run_marker(digest_id, run.number)
        embed.set_footer(text=f"{marker} · {footer}" if footer else marker, icon_url=embed.footer.icon_url)
    elif content is not None:
        content = f"{content} {baseline_marker(digest_id)}"
    return content, embed


def is_run_message(message: discord.Message, digest_id: int, run: PendingRun) -> bool:
    """True when message is this run's (found in history after a crash)."""
    if run.kind == "baseline":
        return message.content.endswith(baseline_marker(digest_id))
    marker = run_marker(digest_id, run.number)
    return any((e.footer.text or "").startswith(marker) for e in message.embeds)


class DigestScheduler:
    """Runs due digests every `tick_seconds`; `tick()` is one pass (tests call it directly)."""

    def __init__(
        self, bot: LikesBot, *, tick_seconds: float = TICK_SECONDS, max_per_tick: int = MAX_DIGESTS_PER_TICK,
        x_deadline: float = 10.0,
        view_for: Callable[[Digest, PendingRun], discord.ui.View | None] | None = None,
    ) -> None:
        self.bot = bot
        self.tick_seconds = tick_seconds
        self.max_per_tick = max_per_tick
        self.x_deadline = x_deadline
        # The digest message's buttons (the cog passes the Browse button).
        self.view_for = view_for or (lambda digest, run: None)
        self.last_report: TickReport | None = None
        self._account: User | None = None
        # Ticks and /digest run never run a digest at the same time.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # ---- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run_forever(), name="likelens-digest-scheduler")

    async def stop(self) -> None:
        """Stop the loop and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run_forever(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            # Sleep first: the guilds' channels and permissions are loaded by then.
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.tick()
            except Exception:
                # The loop never dies: log and try again next tick.
                log.exception("A digest tick failed; the scheduler goes on")

    async def tick(self) -> TickReport:
        """Run every due digest once; returns what was done."""
        started = time.perf_counter()
        sent_before = self.bot.x.stats.requests_sent
        report = TickReport()
        async with self._lock:
            now = self.bot.clock().timestamp()
            due = await store.due_digests(self.bot.store.conn, now, self.max_per_tick)
            report.rows_read = len(due)
            reader = SubjectReader(self.bot, reserve=True, deadline=self.x_deadline, account=self._account)
            reader.expect_posts(d.subject_id for d in due if d.subject_kind == "post")
            for digest in due:
                report.outcomes[digest.id] = await self._run_guarded(digest.id, reader, due_by=now)
            self._account = reader.known_account
        report.x_requests = self.bot.x.stats.requests_sent - sent_before
        report.seconds = time.perf_counter() - started
        self.last_report = report
        return report

    async def run_now(self, digest_id: int) -> RunOutcome:
        """/digest run: one run at once (it may use the moderators' share of the budget)."""
        async with self._lock:
            reader = SubjectReader(
                self.bot, reserve=False, deadline=self.x_deadline, account=self._account, fresh=True)
            outcome = await self._run_guarded(digest_id, reader, due_by=None)
            self._account = reader.known_account
            return outcome

    async def _run_guarded(
        self, digest_id: int, reader: SubjectReader, *, due_by: float | None
    ) -> RunOutcome:
        # Read again under the lock: a tick's due list and /digest run's row may be stale by now
        # (paused, removed, or run meanwhile: baseline_done and failures changed).
        digest = await store.get_digest(self.bot.store.conn, digest_id)
        if digest is None:
            return RunOutcome("skipped", f"Digest #{digest_id} was removed meanwhile: nothing was posted.")
        if digest.state != "active":
            return RunOutcome("skipped", f"Digest #{digest.id} is {digest.state} now: nothing was posted.")
        if due_by is not None and (digest.next_run_at is None or digest.next_run_at > due_by):
            return RunOutcome("skipped", f"Digest #{digest.id} is not due any more: nothing was posted.")
        if not self.bot.account_serves(digest.guild_id):
            # Nothing is read for a server no X account serves; put off a period, so it crowds out no other.
            next_run = self.bot.clock().timestamp() + digest.every_seconds
            await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=next_run)
            return RunOutcome("skipped", f"No X account serves digest #{digest.id}'s server: nothing read.")
        try:
            return await self.run_digest(digest, reader)
        except Exception:
            log.exception("Digest %d failed unexpectedly; it backs off", digest.id)
            now = self.bot.clock().timestamp()
            with contextlib.suppress(Exception):
                await self._fail(digest, now, "an unexpected error (see the bot's log)")
            return RunOutcome("failed", "The run failed unexpectedly; it will be retried later.")

    async def guild_left(self, guild_id: int) -> None:
        """The bot was removed from a guild: its digests are disabled with the reason, not retried."""
        count = await store.disable_guild_digests(self.bot.store.conn, guild_id, GUILD_LEFT_REASON)
        if count:
            log.info("Left guild %d: disabled its %d digest(s)", guild_id, count)

    # ---- one run -----------------------------------------------------------------------

    async def run_digest(self, digest: Digest, reader: SubjectReader) -> RunOutcome:
        """Run digest once: check the channel, deliver a pending run or read X and post what is new."""
        conn = self.bot.store.conn
        now = self.bot.clock().timestamp()
        channel = await self._usable_channel(digest, now)
        if isinstance(channel, RunOutcome):
            return channel
        pending = await store.pending_run(conn, digest.id)
        if pending is not None:
            # Sent before a crash or a failure, maybe: the same nonce makes Discord drop a duplicate.
            return await self._deliver(digest, pending, channel, now)
        try:
            fetched = await reader.read(digest)
        except BudgetReserved as reserved:
            return await self._rate_limited(digest, now, reserved.reset_at, "kept for moderators")
        except errors.RateLimited as limited:
            return await self._rate_limited(digest, now, limited.reset_at, "X rate limit")
        except (errors.NotFound, errors.NotAuthorizedForResource) as refused:
            reason = self._refusal_reason(digest, refused)
            await store.log_run(conn, digest.id, now=now, status="failed", error=refused.message)
            await store.set_state(conn, digest.id, "disabled", reason=reason, next_run_at=None)
            return RunOutcome("disabled", f"Disabled: {reason}")
        except errors.XApiError as failure:
            await store.log_run(conn, digest.id, now=now, status="failed", error=failure.message)
            # X's text is shown in /digest list: literal (markdown escaped), one line, short.
            phrase, when = x_failure_phrase(failure)
            return await self._fail(digest, now, phrase, when=when)
        if digest.subject_kind == "recent":
            await store.mark_posts_checked(conn, digest.id, fetched.checked_posts, now=now,
                                           forget_before=now - RECENT_DAYS * 86400)
        subject = describe(digest.subject_kind, digest.subject_id)
        keys = [key for key, _ in fetched.items]
        if not digest.baseline_done:
            line = self._baseline_line(digest, subject, fetched)
            payload: dict[str, Any] = {"content": line}
            kind: store.RunKind = "baseline"
            planned = keys
        else:
            seen = await store.seen_items(conn, digest.id, keys)
            new = [(key, entry) for key, entry in fetched.items if key not in seen]
            if not new:
                await store.log_run(conn, digest.id, now=now, status="nothing_new", items_found=len(keys),
                                    like_count=fetched.like_count)
                next_run = schedule.next_run_after_success(now, digest.every_seconds)
                await store.set_schedule(conn, digest.id, last_run_at=now, failures=0, next_run_at=next_run)
                return RunOutcome("nothing_new", "Nothing new since the last run: nothing was posted.")
            noun = item_noun(digest.subject_kind, new=True)
            embed = render_digest(subject, [entry for _, entry in new], noun=noun)
            if digest.subject_kind == "post":
                embed.url = Post(id=digest.subject_id, text="").url()
            self.bot.stamp(embed)
            payload = {"embed": embed.to_dict()}
            kind = "digest"
            planned = [key for key, _ in new]
        pending = await store.begin_run(
            conn, digest.id, now=now, kind=kind, item_ids=planned, items_found=len(keys),
            like_count=fetched.like_count, payload=json.dumps(payload),
        )
        return await self._deliver(digest, pending, channel, now)

    def _baseline_line(self, digest: Digest, subject: str, fetched: Fetched) -> str:
        listed = len(fetched.items)
        if fetched.like_count is None:
            noun = item_noun(digest.subject_kind, new=False)
            return render_baseline(subject, listed, noun=noun, more=fetched.more)
        if digest.subject_kind == "recent":
            subject = f"{subject} ({plural(len(fetched.checked_posts), 'post')})"
        # Likes as X counts them, and how many of their likers X lists (at most 100 a post, none protected).
        return render_baseline(subject, fetched.like_count, noun="like", listed=listed)

    async def _usable_channel(self, digest: Digest, now: float) -> discord.TextChannel | RunOutcome:
        """The digest's channel if the bot may post there; else the digest is paused/disabled/skipped."""
        conn = self.bot.store.conn
        guild = self.bot.get_guild(digest.guild_id)
        if guild is None and self.bot.is_ready():
            # After READY an unavailable guild is still cached (unavailable=True): this one left us.
            await store.set_state(conn, digest.id, "disabled", reason=GUILD_LEFT_REASON, next_run_at=None)
            return RunOutcome("disabled", f"Disabled: {GUILD_LEFT_REASON}.")
        if guild is None or guild.unavailable:
            # A Discord outage (or guilds not loaded yet): look again later, less often while it lasts.
            overdue_since = (
                digest.created_at if digest.last_run_at is None else digest.last_run_at + digest.every_seconds
            )
            retry_at = schedule.outage_retry_at(now, overdue_since, digest.every_seconds)
            await store.set_schedule(conn, digest.id, next_run_at=retry_at)
            return RunOutcome("skipped", "The server is unavailable now; the digest tries again later.")
        channel = guild.get_channel(digest.channel_id)
        if not isinstance(channel, discord.TextChannel):
            return await self._channel_gone(digest)
        missing = missing_permissions(channel)
        if missing:
            return await self._pause_for_permissions(digest, channel.name, missing)
        return channel

    async def _channel_gone(self, digest: Digest) -> RunOutcome:
        reason = (
            "its channel was deleted. The settings are kept: `/digest remove` it and `/digest add` "
            "the subject again with another channel"
        )
        await store.set_state(self.bot.store.conn, digest.id, "disabled", reason=reason, next_run_at=None)
        return RunOutcome("disabled", f"Disabled: {reason}.")

    async def _pause_for_permissions(
        self, digest: Digest, channel_name: str, missing: list[str]
    ) -> RunOutcome:
        reason = (
            f"LikeLens lacks {', '.join(missing)} in #{discord.utils.escape_markdown(channel_name)}. "
            f"Give it those permissions there, then `/digest resume digest:{digest.id}`"
        )
        await store.set_state(self.bot.store.conn, digest.id, "paused", reason=reason, next_run_at=None)
        await self._tell_creator(digest, reason)
        return RunOutcome("paused", f"Paused: {reason}.")

    async def _tell_creator(self, digest: Digest, reason: str) -> None:
        """A DM to the digest's creator; if DMs are closed, the next /digest list shows it."""
        text = f"Your LikeLens digest #{digest.id} is paused: {reason}."
        try:
            dm = await self.bot.create_dm(discord.Object(digest.creator_id))
            await dm.send(text, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, aiohttp.ClientError, OSError):
            await store.set_state(
                self.bot.store.conn, digest.id, "paused", reason=reason, next_run_at=None, creator_notice=text
            )

    async def _rate_limited(self, digest: Digest, now: float, reset_at: datetime, why: str) -> RunOutcome:
        next_run = schedule.run_after_reset(reset_at.timestamp(), now)
        await store.log_run(self.bot.store.conn, digest.id, now=now, status="rate_limited", error=why)
        await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=next_run)
        when = datetime.fromtimestamp(next_run, UTC)
        return RunOutcome(
            "rate_limited", f"X's rate budget is used up ({why}); the digest runs after {when:%H:%M} UTC."
        )

    async def _fail(self, digest: Digest, now: float, reason: str, *, when: str = "Then") -> RunOutcome:
        """One more failed run: back off, or disable after MAX_FAILURES (reason says what failed, plainly)."""
        conn = self.bot.store.conn
        decision = schedule.after_failure(now, digest.failures, digest.every_seconds)
        if decision.disable:
            why = (f"after {plural(decision.failures, 'failed run')} in a row ({reason}). "
                   f"{when}: `/digest resume digest:{digest.id}`")
            await store.set_state(conn, digest.id, "disabled", reason=why, next_run_at=None,
                                  failures=decision.failures)
            return RunOutcome("disabled", f"Disabled {why}.")
        await store.set_schedule(
            conn, digest.id, next_run_at=decision.next_run_at, failures=decision.failures, reason=reason
        )
        return RunOutcome("failed", f"{reason}. The digest tries again later.")

    def _refusal_reason(self, digest: Digest, error: errors.XApiError) -> str:
        if isinstance(error, errors.NotFound):
            return "X says the post no longer exists. `/digest remove` this digest"
        return (
            "X does not let LikeLens see these likes (likes are private on X: only the connected account's "
            "own posts and likes can be read). `/digest remove` this digest"
        )

    async def _deliver(
        self, digest: Digest, pending: PendingRun, channel: discord.TextChannel, now: float,
    ) -> RunOutcome:
        content, embed = run_message(digest.id, pending)
        if now - pending.started_at > NONCE_TRUST_SECONDS:
            found = await self._find_in_history(channel, digest, pending)
            if found is not None:
                return await self._delivered(digest, pending, channel, found, now=now)
        options: dict[str, Any] = {"embed": embed} if embed is not None else {}
        view = self.view_for(digest, pending) if embed is not None else None
        if view is not None:
            options["view"] = view
        try:
            message = await channel.send(
                content=content, nonce=nonce_for(digest.id, pending.id),
                allowed_mentions=discord.AllowedMentions.none(), **options,
            )
        except discord.Forbidden:
            return await self._pause_for_permissions(digest, channel.name, ["the permission to post"])
        except discord.NotFound as missing:
            if missing.code == 10003:
                return await self._channel_gone(digest)
            return await self._fail(digest, now, f"Discord refused the message ({missing.status})")
        except discord.HTTPException as refused:
            reason = f"Discord refused the message ({refused.status})"
            if 400 <= refused.status < 500 and refused.status != 429:
                # Refused for good (403/404 are handled above): resending the same payload would fail forever.
                await store.abandon_run(self.bot.store.conn, pending, error=f"{reason}: {refused.text[:200]}")
            return await self._fail(digest, now, reason)
        except (aiohttp.ClientError, OSError):
            return await self._fail(digest, now, "the connection to Discord failed")
        return await self._delivered(digest, pending, channel, message, now=now)

    async def _find_in_history(
        self, channel: discord.TextChannel, digest: Digest, pending: PendingRun,
    ) -> discord.Message | None:
        """The pending run's message if Discord has it already (sent before a crash), else None."""
        me = channel.guild.me
        if not channel.permissions_for(me).read_message_history:
            return None
        try:
            async for message in channel.history(limit=HISTORY_SEARCH_LIMIT):
                if message.author.id == me.id and is_run_message(message, digest.id, pending):
                    return message
        except (discord.HTTPException, aiohttp.ClientError, OSError):
            log.warning("Could not read #%s's history for digest %d; sending again", channel.name, digest.id)
        return None

    async def _delivered(
        self, digest: Digest, pending: PendingRun, channel: discord.TextChannel, message: discord.Message, *,
        now: float,
    ) -> RunOutcome:
        """Discord has the run's message: record its items delivered and schedule the next run."""
        conn = self.bot.store.conn
        await store.finish_run(
            conn, pending, message_id=message.id, now=now,
            next_run_at=schedule.next_run_after_success(now, digest.every_seconds),
        )
        if pending.kind == "baseline":
            text = f"Posted the baseline in {channel.mention}: {message.content}"
            return RunOutcome("baseline", text, 0, message)
        noun = item_noun(digest.subject_kind, new=True)
        text = f"Posted {plural(pending.items, noun)} in {channel.mention}."
        return RunOutcome("posted", text, pending.items, message)
