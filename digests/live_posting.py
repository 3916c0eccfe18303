"""Posting live digests: the baseline line, then batches of recorded likes, through the digests' runs.

A live digest's "run" is a batch: the likes recorded since its cursor (store/like_events.py) that it
has not delivered, in the same embed as a scheduled digest (ui/digest_embeds.py), stored as a pending
run and sent with the run's nonce (digests/delivery.py) — the run, the cursor move and the notes it
carries commit together, so a crash at any point posts each like once after a restart.

With several processes the leader (digests/live_leader.py) posts every live digest: `fence` renews its
lease inside each batch's transaction (another process holding it: LeaseLost, nothing written), and a
digest of a server on another process's shard is posted through REST (its channel is not in this
process's gateway cache; Discord's 403/404 answer as the cache would).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord

from digests.delivery import NONCE_TRUST_SECONDS, DigestChannel, find_in_history, send_run
from digests.live_subscriptions import direction_of
from digests.runner import missing_permissions
from digests.subjects import describe, item_noun
from store import digests as digest_store
from store import like_events as events
from store.digests import Digest, PendingRun
from store.transactions import transaction
from ui.digest_embeds import (
    DESCRIPTION_BUDGET,
    DigestEntry,
    entry_line,
    fit_lines,
    profile_url,
    render_baseline,
    render_digest,
)
from ui.text import clip
from xapi.models import Post

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.live")

DESCRIPTION_LIMIT = 4096
# A channel that refused a message (403, or gone) is not tried again for this long: each refusal
# counts against the bot's invalid-request limit, and a leader without the channel in its cache
# learns of a missing permission only from Discord.
REFUSED_REST_SECONDS = 600.0



class LeaseLost(Exception):
    """Another process holds lease "live-stream" now: this one posts nothing more."""


def item_key(digest: Digest, like: events.RecordedLike) -> str:
    """The digest item a like is (as a scheduled digest of the subject keys it): each liker once."""
    if digest.subject_kind == "post":
        return like.liker.id if like.liker else ""
    if digest.subject_kind == "recent":
        return f"{like.post_id}:{like.liker.id if like.liker else ''}"
    return like.post_id


def _entry(digest: Digest, like: events.RecordedLike) -> DigestEntry:
    if digest.subject_kind == "liked":
        return DigestEntry(f"post {like.post_id}", Post(id=like.post_id, text="").url())
    assert like.liker is not None
    detail = like.liker.name
    if digest.subject_kind == "recent":
        detail += f" · on post {like.post_id}"
    return DigestEntry(f"@{like.liker.username}", profile_url(like.liker), detail)


class LivePoster:
    """Posts live digests' baselines and batches (the feed calls it; one flush at a time)."""

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.messages_sent = 0
        # Set when a flush left likes for the next message (one message could not list them all).
        self.backlog = False
        # Renews this process's lease inside a batch's transaction (False: another process leads).
        self.fence: Callable[[], Awaitable[bool]] | None = None
        # Digest id -> when its channel may be tried again after a refusal.
        self._resting: dict[int, float] = {}

    def _channel(self, digest: Digest) -> DigestChannel | None:
        guild = self.bot.get_guild(digest.guild_id)
        if guild is None:
            # A server of another process's shard: post through REST, without the cache's permission check.
            return self.bot.get_partial_messageable(digest.channel_id, guild_id=digest.guild_id,
                                                    type=discord.ChannelType.text)
        channel = guild.get_channel(digest.channel_id)
        if not isinstance(channel, discord.TextChannel) or missing_permissions(channel):
            return None
        return channel

    async def baseline(self, digest: Digest, liker_ids: list[str], like_count: int | None) -> None:
        """The first run: one "tracking started" line; the likers listed now count as seen (no backlog)."""
        conn = self.bot.store.conn
        subject = describe(digest.subject_kind, digest.subject_id)
        if digest.subject_kind == "post" and like_count is not None:
            line = render_baseline(subject, like_count, noun="like", listed=len(liker_ids))
            line = line.rstrip(".") + "; new likes appear here within seconds."
        else:
            line = clip(f"Tracking started for {subject}: new likes appear here within seconds.", 1900)
        async with transaction(conn):
            pending = await digest_store.begin_run(
                conn, digest.id, now=self.bot.clock().timestamp(), kind="baseline", item_ids=liker_ids,
                items_found=len(liker_ids), like_count=like_count, payload=json.dumps({"content": line}),
            )
            await events.set_cursor(conn, digest.id, await events.last_like_id(conn))
        await self._deliver(digest, pending)

    async def flush(self, digest: Digest) -> int:
        """Post what the digest has waiting (a pending run first); returns how many likes were posted."""
        conn = self.bot.store.conn
        if self._channel(digest) is None or self._resting.get(digest.id, 0.0) > self.bot.clock().timestamp():
            return 0
        pending = await digest_store.pending_run(conn, digest.id)
        if pending is not None and not await self._deliver(digest, pending):
            return 0
        cursor = await events.cursor_of(conn, digest.id)
        if cursor is None or not digest.account_id:
            return 0
        likes = await events.likes_after(
            conn, cursor, account_id=digest.account_id, direction=direction_of(digest.subject_kind),
            post_id=digest.subject_id if digest.subject_kind == "post" else None)
        # A like whose liker is not known yet holds the cursor there (it is being resolved).
        ready = []
        for like in likes:
            if like.liker is None:
                break
            ready.append(like)
        seen = await digest_store.seen_items(conn, digest.id, [item_key(digest, like) for like in ready])
        new: dict[str, events.RecordedLike] = {}
        for like in ready:
            key = item_key(digest, like)
            if key not in seen:
                new.setdefault(key, like)
        notes = await events.notes_of(conn, digest.id)
        if not new and not notes:
            if ready:
                await events.set_cursor(conn, digest.id, ready[-1].id)
            return 0
        batch = list(new.values())
        fitting = self._fitting(digest, batch, [text for _, text in notes])
        # Each liker is listed, never hidden in "…and N more": the rest waits for the next message.
        last_id = ready[-1].id if fitting == len(batch) else batch[fitting].id - 1
        self.backlog = self.backlog or fitting < len(batch)
        new = {item_key(digest, like): like for like in batch[:fitting]}
        payload = self._batch_payload(digest, list(new.values()), [text for _, text in notes])
        async with transaction(conn):
            # First in the transaction: a process taking the lease over waits for this batch's commit.
            if self.fence is not None and not await self.fence():
                raise LeaseLost
            pending = await digest_store.begin_run(
                conn, digest.id, now=self.bot.clock().timestamp(), kind="digest", item_ids=list(new),
                items_found=len(ready), like_count=None, payload=json.dumps(payload),
            )
            if ready:
                await events.set_cursor(conn, digest.id, last_id)
            await events.drop_notes(conn, [note_id for note_id, _ in notes])
        await self._deliver(digest, pending)
        return len(new)

    def _fitting(self, digest: Digest, likes: list[events.RecordedLike], notes: list[str]) -> int:
        """How many of likes one message lists in full (with the notes above them)."""
        budget = DESCRIPTION_BUDGET - sum(len(note) + 4 for note in notes)
        lines = [entry_line(_entry(digest, like)) for like in likes]
        shown = fit_lines(lines, budget)
        return max(1, len(shown) - (1 if len(shown) < len(lines) or shown[-1] != lines[-1] else 0))

    def _batch_payload(
        self, digest: Digest, likes: list[events.RecordedLike], notes: list[str],
    ) -> dict[str, Any]:
        subject = describe(digest.subject_kind, digest.subject_id)
        embed = render_digest(subject, [_entry(digest, like) for like in likes],
                              noun=item_noun(digest.subject_kind, new=True))
        if not likes:
            embed.title = clip(f"Live likes: {subject}", 256)
        if notes:
            # What the stream could not bring back comes first, in the message that follows the gap.
            text = "\n".join(f"⚠️ {note}" for note in notes)
            embed.description = clip(f"{text}\n{embed.description or ''}".strip(), DESCRIPTION_LIMIT)
        if digest.subject_kind == "post":
            embed.url = Post(id=digest.subject_id, text="").url()
        self.bot.stamp(embed)
        return {"embed": embed.to_dict()}

    async def _deliver(self, digest: Digest, pending: PendingRun) -> bool:
        """Send the run's message (found in history when older than the nonce window); True when posted."""
        channel = self._channel(digest)
        now = self.bot.clock().timestamp()
        if channel is None or self._resting.get(digest.id, 0.0) > now:
            return False
        found = None
        if now - pending.started_at > NONCE_TRUST_SECONDS:
            me = self.bot.user
            found = await find_in_history(channel, digest.id, pending, author_id=me.id if me else None)
        sent = found or await send_run(channel, digest.id, pending, None)
        if not isinstance(sent, discord.Message):
            # The run stays pending (sent again with its nonce at the next flush), unless refused for good.
            if sent.kind == "refused":
                await digest_store.abandon_run(self.bot.store.conn, pending, error=sent.reason)
            if sent.kind in ("forbidden", "gone_channel"):
                self._resting[digest.id] = now + REFUSED_REST_SECONDS
            log.warning("Live digest %d not posted: %s", digest.id, sent.reason)
            return False
        await digest_store.finish_run(self.bot.store.conn, pending, message_id=sent.id, now=now,
                                      next_run_at=None)
        self.messages_sent += 0 if found else 1
        return True
