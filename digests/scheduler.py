"""DigestScheduler: the one loop that runs due digests (each run is digests.runner's).

A tick claims the due digests it runs (store/digest_claims.py: through the database, so of the
deployment's processes exactly one runs each; whole subjects, this process's shards first), shares
X requests between digests of the same subject, leaves a quarter of each endpoint's window to
moderators, and delivers each run's message with a nonce derived from (digest, run) before
recording it delivered. Pruning is done by the holder of the "prune" lease alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import discord

from accounts.registry import ServingAccount, reconnect_sentence
from digests.reading import SubjectReader
from digests.runner import GUILD_LEFT_REASON, DigestRunner, RunOutcome
from digests.tick_claims import RUNNING_ELSEWHERE, TAKEN_OVER, TickClaims
from store import digest_claims as claims
from store import digests as store
from store import leases
from store.digests import Digest, PendingRun
from store.pruning import prune
from xapi.client import XClient
from xapi.models import User

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.digests")

TICK_SECONDS = 30.0
MAX_DIGESTS_PER_TICK = 200
# Old runs, seen items and digests of servers left go at most this often (store/pruning.py's bounds).
PRUNE_EVERY_SECONDS = 3600.0
# Why a digest pauses when its server is served by another X account than the one it was added for.
ACCOUNT_CHANGED = "the server's X account changed"
PRUNE_LEASE = "prune"



@dataclass
class TickReport:
    """What one tick did; rows_read is the number of due digests the tick claimed."""

    rows_read: int = 0
    outcomes: dict[int, RunOutcome] = field(default_factory=dict)
    x_requests: int = 0
    seconds: float = 0.0



class TickReaders:
    """One SubjectReader per serving account, made when its first digest runs: requests are shared
    within an account (its budgets and reserves are its own), never across accounts."""

    def __init__(self, scheduler: DigestScheduler, due: list[Digest], *, reserve: bool, fresh: bool) -> None:
        self._scheduler = scheduler
        self._due = due
        self._reserve = reserve
        self._fresh = fresh
        # id(client) -> (its reader, the client's requests sent before the reader's first run)
        self.readers: dict[int, tuple[SubjectReader, int]] = {}

    def __call__(self, serving: ServingAccount) -> SubjectReader:
        client = serving.client
        known = self.readers.get(id(client))
        if known is not None:
            return known[0]
        scheduler = self._scheduler
        reader = SubjectReader(
            scheduler.bot, x=client, reserve=self._reserve, deadline=scheduler.x_deadline,
            account=scheduler.known_account(client), fresh=self._fresh)
        accounts = scheduler.bot.accounts
        reader.expect_posts(
            d.subject_id for d in self._due
            if d.subject_kind == "post" and getattr(accounts.serving(d.guild_id), "client", None) is client)
        self.readers[id(client)] = (reader, client.stats.requests_sent)
        return reader


class DigestScheduler:
    """Runs due digests every `tick_seconds`; `tick()` is one pass (tests call it directly)."""

    def __init__(
        self, bot: LikesBot, *, tick_seconds: float = TICK_SECONDS, max_per_tick: int = MAX_DIGESTS_PER_TICK,
        x_deadline: float = 10.0,
        view_for: Callable[[Digest, PendingRun], discord.ui.View | None] | None = None,
        claim_seconds: float = claims.CLAIM_SECONDS,
    ) -> None:
        self.bot = bot
        self.tick_seconds = tick_seconds
        self.max_per_tick = max_per_tick
        self.x_deadline = x_deadline
        # How long this process's claim of a due digest holds before another may take it over.
        self.claim_seconds = claim_seconds
        self.shards = claims.own_shards(bot.settings.shard_count, bot.settings.shard_ids)
        # The digest message's buttons (the cog passes the Browse button).
        self.runner = DigestRunner(bot, view_for or (lambda digest, run: None))
        self.last_report: TickReport | None = None
        # Each account's own X user, read once (by /2/users/me) while its client lives.
        self._accounts: weakref.WeakKeyDictionary[XClient, User] = weakref.WeakKeyDictionary()
        # Ticks and /digest run never run a digest at the same time.
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        # The first loop pass prunes: a bot restarted daily must prune too.
        self._pruned_at = float("-inf")

    # ---- the loop ----------------------------------------------------------------------

    def start(self) -> None:
        """Start the loop (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run_forever(), name="likelens-digest-scheduler")

    async def stop(self) -> None:
        """Stop the loop and wait for it; the claims it did not finish and the prune lease go at once."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            conn = self.bot.store.conn
            await claims.release_claims(conn, self.bot.instance_id)
            await leases.release(conn, PRUNE_LEASE, self.bot.instance_id)
        except Exception:
            # The others take them over after their leases all the same.
            log.exception("Releasing this process's digest claims failed")

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
            try:
                await self.prune_now_and_then()
            except Exception:
                log.exception("Pruning old digest data failed; it is tried again in an hour")

    async def prune_now_and_then(self) -> None:
        """Prune at most once an hour, and only as the holder of the deployment's "prune" lease."""
        now = self.bot.clock().timestamp()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        conn = self.bot.store.conn
        # Held for the hour, renewed by its holder's next prune: one process prunes, hourly.
        holder = self.bot.instance_id
        if not await leases.acquire(conn, PRUNE_LEASE, holder, now=now, seconds=PRUNE_EVERY_SECONDS):
            return
        report = await prune(conn, now=now, guild_left_reason=GUILD_LEFT_REASON)
        log.info("Pruned old digest data: %s", report)

    def _readers(self, due: list[Digest], *, reserve: bool, fresh: bool = False) -> TickReaders:
        return TickReaders(self, due, reserve=reserve, fresh=fresh)

    def _finish(self, readers: TickReaders) -> int:
        """Remember each account's user; returns the X requests the readers' accounts sent meanwhile."""
        sent = 0
        for reader, sent_before in readers.readers.values():
            if reader.known_account is not None:
                self._accounts[reader.x] = reader.known_account
            sent += reader.x.stats.requests_sent - sent_before
        return sent

    def known_account(self, client: XClient) -> User | None:
        """client's account's X user, when a run read it already."""
        return self._accounts.get(client)

    async def tick(self) -> TickReport:
        """Run every due digest once; returns what was done."""
        started = time.perf_counter()
        report = TickReport()
        async with self._lock:
            conn, holder = self.bot.store.conn, self.bot.instance_id
            now = self.bot.clock().timestamp()
            due = await claims.claim_due(
                conn, holder, now=now, lease_seconds=self.claim_seconds, limit=self.max_per_tick,
                shards=self.shards)
            report.rows_read = len(due)
            reader_for = self._readers(due, reserve=True)
            held = TickClaims(conn, holder, [d.id for d in due], clock=lambda: self.bot.clock().timestamp(),
                              lease_seconds=self.claim_seconds, claimed_at=now)
            try:
                for digest in due:
                    if not await held.still_ours(digest.id):
                        report.outcomes[digest.id] = RunOutcome("skipped", TAKEN_OVER.format(id=digest.id))
                        continue
                    report.outcomes[digest.id] = await self._run_guarded(digest.id, reader_for, due_by=now)
            finally:
                # Runs that ended without moving their digest (skipped) hold no claim past the tick.
                await asyncio.shield(held.release())
            report.x_requests = self._finish(reader_for)
        report.seconds = time.perf_counter() - started
        self.last_report = report
        return report

    async def run_now(self, digest_id: int) -> RunOutcome:
        """/digest run: one run at once (it may use the moderators' share of the budget)."""
        async with self._lock:
            conn, holder = self.bot.store.conn, self.bot.instance_id
            now = self.bot.clock().timestamp()
            lease = self.claim_seconds
            claimed = await claims.claim_one(conn, digest_id, holder, now=now, lease_seconds=lease)
            if not claimed and await store.get_digest(conn, digest_id) is not None:
                return RunOutcome("skipped", RUNNING_ELSEWHERE.format(id=digest_id))
            reader_for = self._readers([], reserve=False, fresh=True)
            try:
                outcome = await self._run_guarded(digest_id, reader_for, due_by=None)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(claims.release_claims(conn, holder, [digest_id]))
            self._finish(reader_for)
            return outcome

    async def _run_guarded(
        self, digest_id: int, reader_for: TickReaders, *, due_by: float | None
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
        serving = self.bot.accounts.serving(digest.guild_id)
        if serving is None:
            # Nothing is read for a server no X account serves; put off a period, so it crowds out no other.
            next_run = self.bot.clock().timestamp() + digest.every_seconds
            await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=next_run)
            return RunOutcome("skipped", f"No X account serves digest #{digest.id}'s server: nothing read.")
        if serving.needs_reconnect is not None:
            reason = reconnect_sentence(serving.handle or "its account").rstrip(".")
            return await self.runner.pause(digest, reason)
        resumes_at = await self.bot.accounts.x_of(serving).cap_reached()
        if resumes_at is not None:
            # X_DAILY_ITEMS_PER_SERVER: this server read its items today; the digest waits for the next day.
            await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=resumes_at)
            return RunOutcome("skipped", f"Digest #{digest.id}'s server read its X items for today: "
                                         "it runs after UTC midnight.")
        reader = reader_for(serving)
        if digest.account_id is None:
            # Added before LikeLens recorded accounts: it adopts the one serving it now, once known
            # without asking X (a digest of a server the bot left must cost no request).
            known = serving.x_user_id or (reader.known_account.id if reader.known_account else None)
            if known is not None:
                await store.set_account(self.bot.store.conn, digest.id, known)
        else:
            account_id = await self._account_id(serving, reader)
            if account_id is not None and account_id != digest.account_id:
                return await self.runner.pause(digest, ACCOUNT_CHANGED)
        try:
            return await self.run_digest(digest, reader)
        except Exception:
            log.exception("Digest %d failed unexpectedly; it backs off", digest.id)
            now = self.bot.clock().timestamp()
            with contextlib.suppress(Exception):
                await self.runner.fail(digest, now, "an unexpected error (see the bot's log)")
            return RunOutcome("failed", "The run failed unexpectedly; it will be retried later.")

    async def _account_id(self, serving: ServingAccount, reader: SubjectReader) -> str | None:
        """The serving account's X user id: known for a connected one, else read once (None: X failed)."""
        if serving.x_user_id is not None:
            return serving.x_user_id
        try:
            return (await reader.account()).id
        except Exception:
            # The run itself meets the same failure and says so.
            return None

    async def guild_left(self, guild_id: int) -> None:
        """The bot was removed from a guild: its digests are disabled with the reason, not retried."""
        count = await store.disable_guild_digests(self.bot.store.conn, guild_id, GUILD_LEFT_REASON)
        if count:
            log.info("Left guild %d: disabled its %d digest(s)", guild_id, count)

    # ---- one run -----------------------------------------------------------------------

    async def run_digest(self, digest: Digest, reader: SubjectReader) -> RunOutcome:
        """Run digest once (without the lock: callers hold it)."""
        return await self.runner.run_digest(digest, reader)
