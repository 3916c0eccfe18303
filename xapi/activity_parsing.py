"""Build Activity API models from X's JSON: subscriptions and the stream's `like.create` events.

Pure functions. A stream line that is not a like event is None (keep-alives, other event types);
one that is not the documented shape raises UndecodableResponse, which the reader counts and skips.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from xapi.errors import UndecodableResponse
from xapi.models import ActivitySubscription, Direction, LikeEvent, User
from xapi.parsing import parse_includes


def _text(obj: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _when(raw: object, millis: object = None) -> datetime | None:
    if isinstance(raw, str):
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
    if isinstance(millis, int) and not isinstance(millis, bool):
        try:
            return datetime.fromtimestamp(millis / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _direction(filt: dict[str, Any]) -> Direction | None:
    value = filt.get("direction")
    return value if value in ("inbound", "outbound") else None


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UndecodableResponse(f"X sent an Activity API {what} that is not a JSON object.")
    return value


def parse_subscription(value: object) -> ActivitySubscription:
    """One subscription object (of a create answer's `data.subscription` or a list's `data`)."""
    obj = _object(value, "subscription")
    subscription_id, event_type = _text(obj, "subscription_id"), _text(obj, "event_type")
    if subscription_id is None or event_type is None:
        raise UndecodableResponse("X sent an Activity API subscription without its id or event type.")
    filt = obj.get("filter")
    filt = filt if isinstance(filt, dict) else {}
    return ActivitySubscription(
        subscription_id=subscription_id, event_type=event_type, user_id=_text(filt, "user_id"),
        direction=_direction(filt), tag=_text(obj, "tag"), created_at=_when(obj.get("created_at")),
    )


def parse_stream_line(line: bytes) -> LikeEvent | None:
    """The like event one stream line carries; None for a keep-alive or another kind of line.

    Raises UndecodableResponse for a line that is not JSON or not a well-formed like event.
    """
    text = line.strip()
    if not text:
        return None
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise UndecodableResponse("X's activity stream sent a line that is not JSON.") from None
    obj = _object(body, "stream line")
    data = obj.get("data")
    if data is None:
        # An error object ({"errors": [...]}) or something new: nothing to deliver.
        return None
    data = _object(data, "event")
    if data.get("event_type") != "like.create":
        return None
    return _like_event(data)


def _like_event(data: dict[str, Any]) -> LikeEvent:
    event_uuid = _text(data, "event_uuid")
    payload = _object(data.get("payload"), "like payload")
    post_id = _text(payload, "liked_tweet_id", "liked_post_id")
    if event_uuid is None or post_id is None:
        raise UndecodableResponse("X sent a like.create event without its event_uuid or liked post.")
    filt = data.get("filter")
    filt = filt if isinstance(filt, dict) else {}
    direction = _direction(filt)
    filter_user_id = _text(filt, "user_id")
    # The spec names the author `tweet_author_id`, x-api-facts.md `liked_tweet_author_id`: take either.
    author_id = _text(payload, "tweet_author_id", "liked_tweet_author_id", "post_author_id",
                      "liked_post_author_id")
    includes = parse_includes(data)
    return LikeEvent(
        event_uuid=event_uuid, liked_post_id=post_id, liked_post_author_id=author_id,
        liker=_liker(includes.users, direction, filter_user_id, author_id),
        created_at=_when(payload.get("created_at"), payload.get("timestamp_ms")),
        direction=direction, filter_user_id=filter_user_id, tag=_text(data, "tag"),
    )


def _liker(users: tuple[User, ...], direction: str | None, filter_user_id: str | None,
           author_id: str | None) -> User | None:
    """The liker among includes.users: on an outbound event the filtered account itself; on an inbound
    one the first user who is not the post's author (None when only the author is there: a self-like
    cannot be told from a missing liker, so the caller asks liking_users)."""
    if direction == "outbound":
        return next((u for u in users if u.id == filter_user_id), None)
    return next((u for u in users if u.id != author_id), None)
