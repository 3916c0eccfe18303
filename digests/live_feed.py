"""The live feed: one activity stream per X app, its like events recorded, then posted in batches.

Started by the digests cog, stopped on unload. Each like event is recorded durably
(store/like_events.py) before anything is posted; the flusher then posts every live digest's new
likes, one message per digest per `min_gap` seconds at most (bursts become a few messages), within a
second or two of the first waiting like otherwise. Likes without their liker and stream gaps longer
than X's backfill are filled from liking_users (digests/live_likers.py). The time the stream was
last alive is stored, so a restart backfills from it (resume_from).

One process of the deployment reads the stream and posts: the holder of lease "live-stream"
(digests/live_leader.py), once a live digest exists; the others ask for the lease now and then, and
the one taking it over (its leader stopped or was killed) resumes from the stored alive time. Any
process adds and removes live digests (their subscription and baseline); the leader reconciles the
subscriptions when it takes the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from digests.live_leader import LiveLeadership
from digests.live_likers import LikerLookups
from digests.live_posting import LeaseLost, LivePoster
from digests.live_subscriptions import LiveSubscriptions, UserAuth, direction_of
from store import digests as digest_store
from store import like_events as events
from store.digests import Digest
from store.meta import get_meta, set_meta
from xapi import errors
from xapi.activity import ActivityClient
from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.models import LikeEvent, User

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.live")

ALIVE_EVERY_SECONDS = 5.0


def bearer_of(bot: LikesBot) -> BearerAuth | None:
    """The X app's bearer (X_BEARER_TOKEN, or the sandbox's), which the stream needs."""
    bearer = getattr(bot.x, "_bearer", None)
    return bearer if isinstance(bearer, BearerAuth) else None


def user_auth_of(bot: LikesBot, guild_id: int | None) -> UserAuth | None:
    """The user-context token of the account serving guild_id (None: it has none)."""
    serving = bot.accounts.serving(guild_id)
    auth = getattr(serving.client, "_user_auth", None) if serving is not None else None
    return auth if isinstance(auth, OAuth1UserAuth | OAuth2UserAuth) else None


class LiveFeed:
    """The bot's one activity stream and what it feeds (the digests cog owns it)."""

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.poster = LivePoster(bot)
        self.gather_seconds = 0.5
        self.min_gap = 2.0
        # Options of the ActivityStream (tests shorten the stall and backoff).
        self.stream_options: dict[str, Any] = {}
        self.recorded = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self.likers = LikerLookups(bot, gather_seconds=lambda: self.gather_seconds, found=self._wake.set,
                                   live_digests=self.live_digests)
        self.activity: ActivityClient | None = None
        self.subscriptions: LiveSubscriptions | None = None
        # Only the holder of lease "live-stream" reads the stream and posts (digests/live_leader.py).
        self.leadership: LiveLeadership | None = None
        bearer = bearer_of(bot)
        if bearer is not None:
            self.activity = ActivityClient(bot.http_session, base_url=bot.x_base_url, bearer=bearer,
                                           clock=lambda: bot.clock().timestamp())
            self.subscriptions = LiveSubscriptions(
                bot.store.conn, self.activity, tag=f"likelens:{bot.application_id}",
                clock=lambda: bot.clock().timestamp())
            self.leadership = LiveLeadership(
                bot.store.conn, bot.instance_id, clock=lambda: bot.clock().timestamp(), lead=self._lead,
                step_down=self._stop_tasks)
            self.poster.fence = self.leadership.renew

    @property
    def leading(self) -> bool:
        """Whether this process holds lease "live-stream" (it reads the stream and posts)."""
        return self.leadership is not None and self.leadership.leading

    def missing(self, guild_id: int | None) -> str | None:
        """Why a live digest cannot be added for guild_id's account now, in one sentence (None: it can)."""
        if self.activity is None:
            return ("Live digests need X_BEARER_TOKEN (the X app's bearer token, for X's activity stream): "
                    "the bot's operator sets it and restarts LikeLens.")
        if user_auth_of(self.bot, guild_id) is None:
            return ("Live digests need the server's X account to have authorized LikeLens (user context): "
                    "connect it with `/x connect`.")
        return None

    async def live_digests(self) -> list[Digest]:
        conn = self.bot.store.conn
        found = [await digest_store.get_digest(conn, i) for i in await events.live_digest_ids(conn)]
        return [d for d in found if d is not None]

    async def still_served(self) -> list[Digest]:
        """The live digests whose account still serves their server (a disconnected one's need nothing)."""
        kept = []
        for digest in await self.live_digests():
            serving = self.bot.accounts.serving(digest.guild_id)
            if serving is None:
                continue
            account_id = serving.x_user_id
            if account_id is None:
                try:
                    # The configured account's id (its client caches the answer).
                    account_id = (await serving.client.me()).id
                except errors.XApiError:
                    account_id = digest.account_id  # Unknown now: keep what the digest needs.
            if account_id == digest.account_id:
                kept.append(digest)
        return kept

    # ---- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """At start: ask for the lease (held: lead at once), then keep asking now and then."""
        if self.leadership is None:
            return
        try:
            await self.leadership.check()
        except Exception:
            # The digests cog loads anyway; the next check (lease/3 from now) takes over again.
            log.exception("Live likes: taking the stream over failed")
        self.leadership.start()

    async def _lead(self, first: bool) -> None:
        """While this process holds the lease: reconcile the subscriptions when it has just taken it,
        and read the stream once a live digest exists."""
        digests = await self.live_digests()
        if not digests or self.activity is None or self.subscriptions is None:
            return
        if first:
            await self._take_over(digests)
        self._start_tasks()

    async def _take_over(self, digests: list[Digest]) -> None:
        assert self.subscriptions is not None
        try:
            problems = await self.subscriptions.reconcile(await self.still_served(), self._auth_for_account)
        except errors.XApiError as failure:
            problems = [failure.message]
        for problem in problems:
            log.warning("Live likes: %s", problem)
        for digest in digests:
            if await events.cursor_of(self.bot.store.conn, digest.id) is None and digest.state == "active":
                await self.begin(digest)
        # Likes recorded before a restart (or by the previous leader) whose liker was still being looked up.
        for account_id, post_id in await events.unresolved_posts(self.bot.store.conn):
            self.likers.soon(account_id, post_id)

    def ensure_running(self) -> None:
        """A live digest exists now: the leader reads the stream at once (another process: next check)."""
        if self.leadership is None:
            return
        if self.leadership.leading:
            self._start_tasks()
        else:
            self.leadership.check_soon()

    def _start_tasks(self) -> None:
        if self._tasks or self.activity is None:
            return
        self._tasks = [asyncio.create_task(self._read_stream(), name="live-stream"),
                       asyncio.create_task(self._flush_forever(), name="live-flush")]
        self._wake.set()

    async def stop(self) -> None:
        """A clean stop: stop reading and posting, then give the lease up (another process takes over at
        once; recorded likes not yet posted are posted by it, or after the next start)."""
        await self._stop_tasks()
        if self.leadership is not None:
            await self.leadership.stop(release=True)

    async def halt(self) -> None:
        """Stop at once without giving the lease up: what a killed process leaves (it expires)."""
        if self.leadership is not None:
            await self.leadership.stop(release=False)
        await self._stop_tasks()

    async def _stop_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.likers.stop()

    def _auth_for_account(self, account_id: str) -> UserAuth | None:
        for serving in self.bot.accounts.connected():
            if serving.x_user_id == account_id:
                return user_auth_of(self.bot, serving.guild_id)
        return user_auth_of(self.bot, None) or getattr(self.bot.x, "_user_auth", None)

    # ---- digests come and go ----------------------------------------------------------------

    async def subscribe(self, guild_id: int, account_id: str, subject_kind: str) -> None:
        """The subscription a new live digest of guild_id's account needs (raises X's refusal)."""
        auth = user_auth_of(self.bot, guild_id)
        assert self.subscriptions is not None and auth is not None  # `missing` said so otherwise
        await self.subscriptions.ensure(account_id, direction_of(subject_kind), auth)

    async def begin(self, digest: Digest) -> None:
        """A new live digest's baseline (the post's listed likers count as seen), then it is fed."""
        liker_ids: list[str] = []
        like_count: int | None = None
        if digest.subject_kind == "post":
            x = self.bot.accounts.x_for(digest.guild_id)
            page = await x.liking_users(digest.subject_id)
            liker_ids = [user.id for user in page.items]
            like_count = x.known_like_count(digest.subject_id)
        await self.poster.baseline(digest, liker_ids, like_count)
        conn = self.bot.store.conn
        only = await events.live_digest_ids(conn) == [digest.id]
        if only or await get_meta(conn, events.ALIVE_KEY) is None:
            # The stream's first connection backfills from here: likes before it connects are not lost
            # (and the first live digest is not told of a gap from before it existed).
            await set_meta(conn, events.ALIVE_KEY, str(self.bot.clock().timestamp()))
        self.ensure_running()

    async def released(self) -> None:
        """A live digest or an account went (digest remove; cogs/x.py after /x disconnect): delete the
        subscriptions no live digest of a still-serving account needs any more."""
        if self.subscriptions is not None:
            await self.subscriptions.release_unneeded(await self.still_served())

    # ---- the stream ---------------------------------------------------------------------------

    async def _read_stream(self) -> None:
        assert self.activity is not None
        conn = self.bot.store.conn
        alive = await get_meta(conn, events.ALIVE_KEY)
        resume = datetime.fromtimestamp(float(alive), UTC) if alive else None
        stream = self.activity.stream(clock=lambda: self.bot.clock().timestamp(), resume_from=resume,
                                      **self.stream_options)
        self.stream = stream
        heartbeat = asyncio.create_task(self._keep_alive_time(stream.connected))
        try:
            async for item in stream:
                if isinstance(item, LikeEvent):
                    await self._record(item)
                else:
                    await self.likers.fill_gap(item)
        except errors.XApiError as refused:
            log.error("X refused the activity stream: %s", refused.message)
        finally:
            heartbeat.cancel()
            await stream.aclose()

    async def _keep_alive_time(self, connected: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(ALIVE_EVERY_SECONDS)
            if connected.is_set():
                await set_meta(self.bot.store.conn, events.ALIVE_KEY, str(self.bot.clock().timestamp()))

    async def _record(self, event: LikeEvent) -> None:
        account_id, direction = event.filter_user_id, event.direction or "inbound"
        if account_id is None:
            return
        liker = event.liker
        if liker is None and direction == "outbound":
            # The account itself liked the post: no request needed to know who.
            liker = User(id=account_id, username="", name="")
        row = await events.record_like(
            self.bot.store.conn, event_uuid=event.event_uuid, account_id=account_id, direction=direction,
            post_id=event.liked_post_id, liker=liker,
            liked_at=event.created_at.timestamp() if event.created_at else None,
            now=self.bot.clock().timestamp())
        # Woken for a duplicate too: the process that recorded it may have lost the lease before posting.
        self._wake.set()
        if row is None:
            return
        self.recorded += 1
        if liker is None:
            self.likers.soon(account_id, event.liked_post_id)

    # ---- posting ------------------------------------------------------------------------------

    async def _flush_forever(self) -> None:
        loop = asyncio.get_running_loop()
        last = -self.min_gap
        while True:
            await self._wake.wait()
            # A short gather for the burst, and no channel gets more than one message per min_gap.
            await asyncio.sleep(max(self.gather_seconds, last + self.min_gap - loop.time()))
            self._wake.clear()
            last = loop.time()
            await self.flush_all()

    async def flush_all(self) -> int:
        """Post every active live digest's waiting likes; returns how many were posted."""
        posted = 0
        self.poster.backlog = False
        for digest in await self.live_digests():
            if digest.state != "active":
                continue
            if not self.leading:
                return posted  # Another process leads now: it posts.
            try:
                posted += await self.poster.flush(digest)
            except LeaseLost:
                log.warning("Live likes: the lease went to another process; it posts the rest")
                return posted
            except Exception:
                log.exception("Live digest %d could not be posted", digest.id)
        if self.poster.backlog:
            self._wake.set()  # The rest goes out after min_gap.
        return posted
