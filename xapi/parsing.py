"""Build `xapi.models` objects from X API v2 JSON, accepting both the `tweet` and `post` namings.

Anything that is not the documented shape raises UndecodableResponse, never KeyError or TypeError.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from xapi import errors
from xapi.errors import UndecodableResponse
from xapi.models import Includes, Page, PartialError, Post, User
from xapi.problems import error_class_for, make_error

T = TypeVar("T", User, Post)


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UndecodableResponse(f"X answered a {what} that is not a JSON object.")
    return value


def _str(obj: dict[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise UndecodableResponse(f"X answered a {what} without a text `{key}`.")
    return value


def _opt_str(obj: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def _opt_int(obj: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _time(obj: dict[str, Any]) -> datetime | None:
    raw = obj.get("created_at")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_user(value: object) -> User:
    """A User from one X user object."""
    obj = _object(value, "user")
    metrics = _sub(obj, "public_metrics")
    return User(
        id=_str(obj, "id", "user"),
        username=_str(obj, "username", "user"),
        name=_opt_str(obj, "name") or "",
        verified=obj.get("verified") is True,
        protected=obj.get("protected") is True,
        created_at=_time(obj),
        description=_opt_str(obj, "description") or "",
        profile_image_url=_opt_str(obj, "profile_image_url"),
        followers_count=_opt_int(metrics, "followers_count"),
        following_count=_opt_int(metrics, "following_count"),
        post_count=_opt_int(metrics, "tweet_count", "post_count"),
        listed_count=_opt_int(metrics, "listed_count"),
        pinned_post_id=_opt_str(obj, "pinned_tweet_id", "pinned_post_id"),
    )


def parse_post(value: object) -> Post:
    """A Post from one X post (tweet) object."""
    obj = _object(value, "post")
    metrics = _sub(obj, "public_metrics")
    return Post(
        id=_str(obj, "id", "post"),
        text=_opt_str(obj, "text") or "",
        author_id=_opt_str(obj, "author_id"),
        created_at=_time(obj),
        like_count=_opt_int(metrics, "like_count"),
        retweet_count=_opt_int(metrics, "retweet_count", "repost_count"),
        reply_count=_opt_int(metrics, "reply_count"),
        quote_count=_opt_int(metrics, "quote_count"),
        impression_count=_opt_int(metrics, "impression_count"),
    )


def parse_partial_error(value: object) -> PartialError:
    """One entry of a 200 answer's `errors` array."""
    obj = _object(value, "error")
    return PartialError(
        title=_opt_str(obj, "title", "message") or "",
        detail=_opt_str(obj, "detail") or "",
        type=_opt_str(obj, "type") or "",
        resource_id=_opt_str(obj, "resource_id", "value"),
        resource_type=_opt_str(obj, "resource_type"),
    )


def _list(body: dict[str, Any], key: str) -> list[object]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UndecodableResponse(f"X answered `{key}` that is not a list.")
    return value


def parse_includes(body: dict[str, Any]) -> Includes:
    """`includes.users` plus `includes.tweets` and `includes.posts` merged."""
    raw = body.get("includes")
    if raw is None:
        return Includes()
    inc = _object(raw, "includes")
    posts = [parse_post(p) for p in _list(inc, "tweets") + _list(inc, "posts")]
    return Includes(users=tuple(parse_user(u) for u in _list(inc, "users")), posts=tuple(posts))


def parse_errors(body: dict[str, Any]) -> tuple[PartialError, ...]:
    """The partial errors of a 200 answer."""
    return tuple(parse_partial_error(e) for e in _list(body, "errors"))


def parse_page(body: object, parse_item: Callable[[object], T]) -> Page[T]:
    """A Page from a list answer; an answer without `data` is an empty page."""
    obj = _object(body, "page")
    items = tuple(parse_item(i) for i in _list(obj, "data"))
    meta = _sub(obj, "meta")
    count = _opt_int(meta, "result_count")
    return Page(
        items=items,
        includes=parse_includes(obj),
        errors=parse_errors(obj),
        result_count=len(items) if count is None else count,
        next_token=_opt_str(meta, "next_token") or None,
        previous_token=_opt_str(meta, "previous_token") or None,
    )


def parse_single(
    body: object, parse_item: Callable[[object], T], *, now: float | None = None,
) -> tuple[T, Includes]:
    """The object of a single-object answer and its includes; X's refusal in `errors` is raised.

    Raises only `xapi.errors` classes; `now` (Unix seconds) dates a rate-limit refusal's reset.
    """
    obj = _object(body, "body")
    data = obj.get("data")
    if data is None:
        problems = parse_errors(obj)
        first = problems[0] if problems else PartialError(title="", type="resource-not-found")
        cls = error_class_for(first.kind, None)
        if cls is errors.InvalidRequest:
            cls = errors.NotFound
        raise make_error(cls, f"X could not return it: {first.title or first.kind}"[:240], now=now)
    return parse_item(data), parse_includes(obj)
