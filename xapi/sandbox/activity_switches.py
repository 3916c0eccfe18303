"""The X Activity API side of XSandbox: like events for its simulated likes and the stream switches.

A mixin of XSandbox (server.py), so that file keeps to the request pipeline.
"""

from __future__ import annotations

from datetime import datetime

from xapi.sandbox.activity_events import LikeEvents, SimulatedLikes
from xapi.sandbox.stream import ActivityStreams


class ActivitySwitches:
    """Like events and the switches tests flip on the activity streams."""

    streams: ActivityStreams
    _like_events: LikeEvents
    _simulated_likes: SimulatedLikes

    def _emit_like(self, post_id: str, liker_id: str, at: datetime) -> None:
        # Each new like is a like.create event for the matching Activity API subscriptions.
        for event in self._like_events.for_like(post_id, liker_id, at):
            self.streams.emit(event)

    def drop_streams(self) -> None:
        """Cut every open activity stream (the reader sees its connection end)."""
        self.streams.drop_streams()

    def stall_streams(self) -> None:
        """Open activity streams stop sending bytes, keep-alives included, without closing."""
        self.streams.stall_streams()

    @property
    def omit_includes(self) -> bool:
        """Whether like events are emitted without includes.users (the liker then is unknown)."""
        return self.streams.omit_includes

    @omit_includes.setter
    def omit_includes(self, value: bool) -> None:
        self.streams.omit_includes = value

    def start_simulated_likes(self, every_seconds: float, post_ids: list[str] | None = None) -> None:
        """A new liker on one of the owner's posts (or of `post_ids`) every `every_seconds`, each with its
        like.create event, until `stop_simulated_likes` or close (for `python bot.py --sandbox`)."""
        self._simulated_likes.start(every_seconds, post_ids)

    def stop_simulated_likes(self) -> None:
        """Stop the trickle of simulated likes."""
        self._simulated_likes.stop()
