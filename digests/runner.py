"""One run of one digest: check its channel, read its subject, post what is new, record it.

DigestRunner decides what a run's outcome does to the digest: back off, pause (a missing
permission, told to the creator), or disable (its subject or channel is gone, or failures in a row).

(A little over 300 lines: every outcome of one run, and what it does to the digest, stays in one
place so no path forgets to log or reschedule; the reading and delivery are digests/reading.py and
digests/delivery.py.)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import discord

from digests import policy
from digests.delivery import NONCE_TRUST_SECONDS, DigestChannel, find_in_history, send_run
from digests.reading import BudgetReserved, Fetched, SubjectReader
from digests.subjects import RECENT_DAYS, describe, item_noun
from store import digests as store
from store.digest_claims import own_shards
from store.digests import Digest, PendingRun
from ui.digest_embeds import render_baseline, render_digest
from ui.text import one_line, plural, safe
from xapi import errors
from xapi.models import Post

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.digests")

# What the bot needs in a digest's channel, with the names Discord's settings show.
NEEDED_PERMISSIONS = {
    "view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links",
}
GUILD_LEFT_REASON = (
    "LikeLens is no longer in this server. Invite it again, then `/digest resume` (or `/digest remove`)"
)
# Discord drops a repeated nonce only for "a few minutes": an older pending run is looked for in
# the channel's recent history before it is sent again.
# How much of X's error text a digest's reason keeps.
X_TEXT_LIMIT = 300

Status = Literal[
    "baseline", "posted", "nothing_new", "rate_limited", "failed", "delayed", "paused", "disabled", "skipped",
]



@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one run did, as a sentence for /digest run."""

    status: Status
    text: str
    posted: int = 0
    message: discord.Message | None = None



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


class DigestRunner:
    """Runs one digest once (the scheduler holds the lock that keeps two runs of it apart)."""

    def __init__(
        self, bot: LikesBot, view_for: Callable[[Digest, PendingRun], discord.ui.View | None],
    ) -> None:
        self.bot = bot
        self.view_for = view_for
        # The shards this process runs (None: all): a server of another one is not in its cache.
        self.shards = own_shards(bot.settings.shard_count, bot.settings.shard_ids)

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
        except errors.AccountNeedsReconnect as refused:
            await store.log_run(conn, digest.id, now=now, status="failed", error=refused.message)
            return await self.pause(digest, refused.message.rstrip("."))
        except (errors.NotFound, errors.NotAuthorizedForResource) as refused:
            reason = self._refusal_reason(digest, refused)
            await store.log_run(conn, digest.id, now=now, status="failed", error=refused.message)
            await self._stop(digest, "disabled", reason)
            return RunOutcome("disabled", f"Disabled: {reason}")
        except errors.XApiError as failure:
            await store.log_run(conn, digest.id, now=now, status="failed", error=failure.message)
            # X's text is shown in /digest list: literal (markdown escaped), one line, short.
            phrase, when = x_failure_phrase(failure)
            return await self.fail(digest, now, phrase, when=when)
        serving = self.bot.accounts.serving(digest.guild_id)
        if serving is not None:
            # What the run read counts against its server's daily cap (X_DAILY_ITEMS_PER_SERVER).
            await self.bot.accounts.x_of(serving).count(len(fetched.items))
        if digest.subject_kind == "recent":
            await store.mark_posts_checked(conn, digest.id, fetched.checked_posts, now=now,
                                           forget_before=now - RECENT_DAYS * 86400)
        subject = describe(digest.subject_kind, digest.subject_id)
        note = "; ".join(fetched.skipped) or None
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
                                    like_count=fetched.like_count, error=note)
                next_run = policy.next_run_after_success(now, digest.every_seconds)
                await store.set_schedule(conn, digest.id, last_run_at=now, failures=0, next_run_at=next_run)
                return RunOutcome("nothing_new", "Nothing new since the last run: nothing was posted.")
            noun = item_noun(digest.subject_kind, new=True)
            linked = await self.bot.member_links.by_x_ids(
                digest.guild_id, [e.x_user_id for _, e in new if e.x_user_id is not None])
            members = {x_id: link.member_id for x_id, link in linked.items()}
            embed = render_digest(subject, [entry for _, entry in new], noun=noun, members=members)
            if digest.subject_kind == "post":
                embed.url = Post(id=digest.subject_id, text="").url()
            self.bot.stamp(embed)
            payload = {"embed": embed.to_dict()}
            kind = "digest"
            planned = [key for key, _ in new]
        pending = await store.begin_run(
            conn, digest.id, now=now, kind=kind, item_ids=planned, items_found=len(keys),
            like_count=fetched.like_count, payload=json.dumps(payload), note=note,
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

    async def _usable_channel(self, digest: Digest, now: float) -> DigestChannel | RunOutcome:
        """The digest's channel if the bot may post there; else the digest is paused/disabled/skipped."""
        conn = self.bot.store.conn
        guild = self.bot.get_guild(digest.guild_id)
        if guild is None and self.shards is not None and not self.shards.owns(digest.guild_id):
            # Another shard's server (its process is down, or the digest came with its subject): only
            # that shard learns the bot left (on_guild_remove); Discord's answer to the send decides.
            return self.bot.get_partial_messageable(digest.channel_id, guild_id=digest.guild_id)
        if guild is None and self.bot.is_ready():
            # After READY an unavailable guild is still cached (unavailable=True): this one left us.
            await self._stop(digest, "disabled", GUILD_LEFT_REASON)
            return RunOutcome("disabled", f"Disabled: {GUILD_LEFT_REASON}.")
        if guild is None or guild.unavailable:
            # A Discord outage (or guilds not loaded yet): look again later, less often while it lasts.
            overdue_since = (
                digest.created_at if digest.last_run_at is None else digest.last_run_at + digest.every_seconds
            )
            retry_at = policy.outage_retry_at(now, overdue_since, digest.every_seconds)
            await store.set_schedule(conn, digest.id, next_run_at=retry_at)
            return RunOutcome("skipped", "The server is unavailable now; the digest tries again later.")
        channel = guild.get_channel(digest.channel_id)
        if not isinstance(channel, discord.TextChannel):
            return await self._channel_gone(digest)
        missing = missing_permissions(channel)
        if missing:
            return await self._pause_for_permissions(digest, channel, missing)
        return channel

    async def _stop(
        self, digest: Digest, state: store.DigestState, reason: str, *, creator_notice: str | None = None,
        failures: int | None = None,
    ) -> None:
        """The run's outcome pauses or disables the digest (and ends the run's claim)."""
        await store.set_state(self.bot.store.conn, digest.id, state, reason=reason, next_run_at=None,
                              creator_notice=creator_notice, failures=failures, ends_run=True)

    async def _channel_gone(self, digest: Digest) -> RunOutcome:
        reason = (
            "its channel was deleted. The settings are kept: `/digest remove` it and `/digest add` "
            "the subject again with another channel"
        )
        await self._stop(digest, "disabled", reason)
        return RunOutcome("disabled", f"Disabled: {reason}.")

    async def _pause_for_permissions(
        self, digest: Digest, channel: DigestChannel, missing: list[str]
    ) -> RunOutcome:
        # A channel of another shard's server has no name in this process: its mention shows it.
        where = (f"#{discord.utils.escape_markdown(channel.name)}" if isinstance(channel, discord.TextChannel)
                 else channel.mention)
        reason = (
            f"LikeLens lacks {', '.join(missing)} in {where}. "
            f"Give it those permissions there, then `/digest resume digest:{digest.id}`"
        )
        await self._stop(digest, "paused", reason)
        await self._tell_creator(digest, reason)
        return RunOutcome("paused", f"Paused: {reason}.")

    async def pause(self, digest: Digest, reason: str) -> RunOutcome:
        """Pause digest with reason (its creator is told); `/digest resume` starts it again."""
        await self._stop(digest, "paused", reason)
        await self._tell_creator(digest, reason)
        return RunOutcome("paused", f"Paused: {reason}.")

    async def _tell_creator(self, digest: Digest, reason: str) -> None:
        """A DM to the digest's creator; if DMs are closed, the next /digest list shows it."""
        text = f"Your LikeLens digest #{digest.id} is paused: {reason}."
        try:
            dm = await self.bot.create_dm(discord.Object(digest.creator_id))
            await dm.send(text, allowed_mentions=discord.AllowedMentions.none())
        except (discord.HTTPException, aiohttp.ClientError, OSError):
            await self._stop(digest, "paused", reason, creator_notice=text)

    async def _rate_limited(self, digest: Digest, now: float, reset_at: datetime, why: str) -> RunOutcome:
        next_run = policy.run_after_reset(reset_at.timestamp(), now)
        await store.log_run(self.bot.store.conn, digest.id, now=now, status="rate_limited", error=why)
        await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=next_run)
        when = datetime.fromtimestamp(next_run, UTC)
        return RunOutcome(
            "rate_limited", f"X's rate budget is used up ({why}); the digest runs after {when:%H:%M} UTC."
        )

    async def fail(self, digest: Digest, now: float, reason: str, *, when: str = "Then") -> RunOutcome:
        """One more failed run: back off, or disable after MAX_FAILURES (reason says what failed, plainly)."""
        conn = self.bot.store.conn
        decision = policy.after_failure(now, digest.failures, digest.every_seconds)
        if decision.disable:
            why = (f"after {plural(decision.failures, 'failed run')} in a row ({reason}). "
                   f"{when}: `/digest resume digest:{digest.id}`")
            await self._stop(digest, "disabled", why, failures=decision.failures)
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
        self, digest: Digest, pending: PendingRun, channel: DigestChannel, now: float,
    ) -> RunOutcome:
        if now - pending.started_at > NONCE_TRUST_SECONDS:
            me_id = None if self.bot.user is None else self.bot.user.id
            found = await find_in_history(channel, digest.id, pending, author_id=me_id)
            if found is not None:
                return await self._delivered(digest, pending, channel, found, now=now)
        sent = await send_run(channel, digest.id, pending, self.view_for(digest, pending))
        if isinstance(sent, discord.Message):
            return await self._delivered(digest, pending, channel, sent, now=now)
        if sent.kind == "outage":
            return await self._discord_outage(digest, pending, now, sent.reason)
        if sent.kind == "forbidden":
            return await self._pause_for_permissions(digest, channel, [sent.reason])
        if sent.kind == "gone_channel":
            return await self._channel_gone(digest)
        if sent.kind == "refused":
            await store.abandon_run(self.bot.store.conn, pending, error=f"{sent.reason}: {sent.detail}")
        return await self.fail(digest, now, sent.reason)

    async def _discord_outage(self, digest: Digest, pending: PendingRun, now: float, why: str) -> RunOutcome:
        """Discord did not take the message: the run stays pending and is sent again later.

        Not a failed run: the waits grow while the outage lasts (as for an unavailable server)
        and the digest is never disabled for it.
        """
        retry_at = policy.outage_retry_at(now, pending.started_at, digest.every_seconds)
        await store.log_run(self.bot.store.conn, digest.id, now=now, status="delayed", error=why)
        await store.set_schedule(self.bot.store.conn, digest.id, next_run_at=retry_at)
        return RunOutcome("delayed", f"{why}: the digest posts when Discord is back.")

    async def _delivered(
        self, digest: Digest, pending: PendingRun, channel: DigestChannel, message: discord.Message, *,
        now: float,
    ) -> RunOutcome:
        """Discord has the run's message: record its items delivered and schedule the next run."""
        conn = self.bot.store.conn
        await store.finish_run(
            conn, pending, message_id=message.id, now=now,
            next_run_at=policy.next_run_after_success(now, digest.every_seconds),
        )
        if pending.kind == "baseline":
            text = f"Posted the baseline in {channel.mention}: {message.content}"
            return RunOutcome("baseline", text, 0, message)
        noun = item_noun(digest.subject_kind, new=True)
        text = f"Posted {plural(pending.items, noun)} in {channel.mention}."
        return RunOutcome("posted", text, pending.items, message)
