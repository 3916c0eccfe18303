"""What the live feed reads from liking_users: the likers of likes the stream recorded without them
(X's event carried no includes), from the post's first page, one request per post for a burst
(single-flight), tried again every minute while X fails (the waiting likes hold their digests' next
messages); and after a stream gap longer than X's backfill, the newest likers of each live post
digest, with a note for every live digest's next message. Run by the leading process's feed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from store import like_events as events
from store.digests import Digest
from xapi import errors
from xapi.models import StreamGap

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.live")

RESOLVE_RETRY_SECONDS = 60.0


def gap_sentence(gap: StreamGap) -> str:
    start, end = int(gap.start.timestamp()), int(gap.end.timestamp())
    return (f"X's stream was down from <t:{start}:f> to <t:{end}:f>; likes in that window beyond the "
            "newest 100 may be missing.")


class LikerLookups:
    """The look-ups under way, one per post; `found()` is called when likers were filled in."""

    def __init__(
        self, bot: LikesBot, *, gather_seconds: Callable[[], float], found: Callable[[], None],
        live_digests: Callable[[], Awaitable[list[Digest]]],
    ) -> None:
        self.bot = bot
        self._gather_seconds = gather_seconds
        self._found = found
        self._live_digests = live_digests
        self._running: dict[str, asyncio.Task[None]] = {}

    def soon(self, account_id: str, post_id: str) -> None:
        """Look the post's waiting likers up after a short gather (unless a look-up is under way)."""
        if post_id in self._running:
            return  # One liking_users request for the whole burst of this post.
        self._running[post_id] = asyncio.create_task(self._resolve(account_id, post_id))

    async def stop(self) -> None:
        tasks, self._running = list(self._running.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _resolve(self, account_id: str, post_id: str) -> None:
        conn = self.bot.store.conn
        try:
            await asyncio.sleep(self._gather_seconds())
            while waiting := await events.unresolved(conn, post_id):
                x = await self._x_of_account(account_id)
                if x is None:
                    return
                try:
                    page = await x.liking_users(post_id, fresh=True)
                except errors.XApiError as failure:
                    # The waiting likes hold their digests' next messages: try again, never give up.
                    log.warning("Could not read the likers of post %s: %s", post_id, failure.message)
                    await asyncio.sleep(RESOLVE_RETRY_SECONDS)
                    continue
                await events.resolve(conn, account_id=account_id, direction="inbound", post_id=post_id,
                                     waiting=waiting, newest_likers=page.items)
                self._found()
        finally:
            self._running.pop(post_id, None)

    async def _x_of_account(self, account_id: str) -> Any:
        for digest in await self._live_digests():
            if digest.account_id == account_id:
                return self.bot.accounts.x_for(digest.guild_id)
        return None

    async def fill_gap(self, gap: StreamGap) -> None:
        """Record each live post digest's newest likers (the gap's likes beyond them may be missing, and
        every live digest's next message says so)."""
        conn = self.bot.store.conn
        digests = [d for d in await self._live_digests() if d.state == "active"]
        now = self.bot.clock().timestamp()
        for digest in digests:
            if digest.subject_kind != "post" or not digest.account_id:
                continue
            try:
                x = self.bot.accounts.x_for(digest.guild_id)
                page = await x.liking_users(digest.subject_id, fresh=True)
            except errors.XApiError as failure:
                log.warning("Could not fill the stream gap for post %s: %s", digest.subject_id,
                            failure.message)
                continue
            for user in reversed(page.items):
                await events.record_like(conn, event_uuid=None, account_id=digest.account_id,
                                         direction="inbound", post_id=digest.subject_id, liker=user,
                                         liked_at=None, now=now)
        await events.record_gap(conn, gap.end.timestamp())  # scheduled digests over it poll X
        await events.add_note(conn, [d.id for d in digests], gap_sentence(gap))
        self._found()
