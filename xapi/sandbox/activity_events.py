"""`like.create` events of the sandbox's simulated likes, and a steady trickle of likes for demos.

An event is shaped as x-api-facts.md shows and X's spec (LikeWithPostAuthor) declares: its payload
carries both `tweet_author_id` (the spec's name) and `liked_tweet_author_id` (the facts' name), so a
reader that knows either finds the author; `includes.users` carries the liker (and the author).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xapi.sandbox.activity import ActivitySubscriptions
from xapi.sandbox.data import OWNER_ID, SandboxWorld, iso, user_json

if TYPE_CHECKING:
    from xapi.sandbox.server import XSandbox

_FIRST_EVENT_UUID = 1900000000000000000
# What includes.users carries of each user: the fields LikeLens shows (v2.166 naming: the stream's).
_USER_FIELDS = frozenset({"created_at", "description", "profile_image_url", "verified", "protected",
                          "public_metrics"})


class LikeEvents:
    """Builds one `like.create` event per matching subscription for each new like."""

    def __init__(self, world: SandboxWorld, subscriptions: ActivitySubscriptions) -> None:
        self.world = world
        self.subscriptions = subscriptions
        self._next_uuid = _FIRST_EVENT_UUID

    def for_like(self, post_id: str, liker_id: str, at: datetime) -> list[dict[str, Any]]:
        """Events for `liker_id` liking `post_id` at `at`: inbound for the post's author, outbound
        for the liker."""
        post = self.world.posts[post_id]
        subs = self.subscriptions
        targets = [(s, "inbound") for s in subs.matching("like.create", post.author_id, "inbound")]
        targets += [(s, "outbound") for s in subs.matching("like.create", liker_id, "outbound")]
        like_id = hashlib.sha1(f"{post_id}:{liker_id}".encode()).hexdigest()[:32]
        millis = int(at.timestamp() * 1000)
        users = [self.world.users[liker_id]]
        if post.author_id != liker_id:
            users.append(self.world.users[post.author_id])
        includes = {"users": [user_json(u, _USER_FIELDS, "tweet", pinned=False) for u in users]}
        events = []
        for sub, direction in targets:
            self._next_uuid += 1
            data: dict[str, Any] = {
                "event_uuid": str(self._next_uuid), "event_type": "like.create",
                "filter": {"user_id": sub.user_id, "direction": direction},
                "payload": {"id": like_id, "liked_tweet_id": post_id, "tweet_author_id": post.author_id,
                            "liked_tweet_author_id": post.author_id, "created_at": iso(at),
                            "timestamp_ms": millis},
                "includes": includes,
            }
            if sub.tag is not None:
                data["tag"] = sub.tag
            events.append({"data": data})
        return events


class SimulatedLikes:
    """A background task that adds one liker to one of the owner's posts every `every_seconds`."""

    def __init__(self, sandbox: XSandbox) -> None:
        self.sandbox = sandbox
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, every_seconds: float, post_ids: list[str] | None = None) -> None:
        """Start (or restart) the trickle; `post_ids` defaults to the owner's posts."""
        if every_seconds <= 0:
            raise ValueError("every_seconds must be positive")
        self.stop()
        posts = post_ids or [p.id for p in self.sandbox.world.posts.values() if p.author_id == OWNER_ID
                             and p.id not in self.sandbox.world.deleted_posts]
        self._task = asyncio.ensure_future(self._run(every_seconds, posts))

    def stop(self) -> None:
        """Stop the trickle (the likes already added stay)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        """Stop and wait for the task to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, every_seconds: float, post_ids: list[str]) -> None:
        rng = random.Random(f"simulated-likes-{len(post_ids)}")
        while True:
            await asyncio.sleep(every_seconds)
            self.sandbox.add_likers(rng.choice(post_ids), 1)
