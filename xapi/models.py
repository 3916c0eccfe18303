"""Typed results of the X API v2 calls LikeLens makes: users, posts and pages of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Literal, TypeVar

from xapi.problems import problem_kind


@dataclass(frozen=True, slots=True)
class User:
    """An X account as returned with LikeLens' default `user.fields`."""

    id: str
    username: str
    name: str
    verified: bool = False
    protected: bool = False
    created_at: datetime | None = None
    description: str = ""
    profile_image_url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    post_count: int | None = None
    listed_count: int | None = None
    # `pinned_tweet_id` or `pinned_post_id`, whichever naming X answered with.
    pinned_post_id: str | None = None

    @property
    def profile_url(self) -> str:
        return f"https://x.com/{self.username}"


@dataclass(frozen=True, slots=True)
class Post:
    """An X post (tweet) as returned with LikeLens' default `tweet.fields`/`post.fields`."""

    id: str
    text: str
    author_id: str | None = None
    created_at: datetime | None = None
    like_count: int | None = None
    retweet_count: int | None = None
    reply_count: int | None = None
    quote_count: int | None = None
    impression_count: int | None = None

    def url(self, username: str | None = None) -> str:
        # x.com redirects /i/web/status/<id> to the canonical URL when the author is unknown.
        return f"https://x.com/{username}/status/{self.id}" if username else f"https://x.com/i/web/status/{self.id}"


@dataclass(frozen=True, slots=True)
class PartialError:
    """One entry of a 200 response's `errors` array (a resource X could not return)."""

    title: str
    detail: str = ""
    type: str = ""
    resource_id: str | None = None
    resource_type: str | None = None

    @property
    def kind(self) -> str:
        """The last segment of the problem type, e.g. `not-authorized-for-resource`."""
        return problem_kind(self.type)


@dataclass(frozen=True, slots=True)
class Includes:
    """Expanded objects: `includes.users` and `includes.tweets`/`includes.posts` merged."""

    users: tuple[User, ...] = ()
    posts: tuple[Post, ...] = ()

    def user(self, user_id: str | None) -> User | None:
        return next((u for u in self.users if u.id == user_id), None) if user_id else None

    def post(self, post_id: str | None) -> Post | None:
        return next((p for p in self.posts if p.id == post_id), None) if post_id else None


ItemT = TypeVar("ItemT", User, Post)


@dataclass(frozen=True, slots=True)
class Page(Generic[ItemT]):
    """One API page: its items, expansions, partial errors and pagination tokens."""

    items: tuple[ItemT, ...]
    includes: Includes = field(default_factory=Includes)
    errors: tuple[PartialError, ...] = ()
    result_count: int = 0
    next_token: str | None = None
    previous_token: str | None = None


Direction = Literal["inbound", "outbound"]


@dataclass(frozen=True, slots=True)
class ActivitySubscription:
    """One X Activity API subscription (`like.create` for LikeLens) as X lists it."""

    subscription_id: str
    event_type: str
    user_id: str | None
    direction: Direction | None
    tag: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LikeEvent:
    """One `like.create` event of the activity stream: who liked which post, for which subscription.

    `liker` comes from the event's includes.users; None when X left it out (read `liking_users`).
    `direction` and `filter_user_id` are the subscription's filter: inbound, the account's post was liked;
    outbound, the account liked someone's post.
    """

    event_uuid: str
    liked_post_id: str
    liked_post_author_id: str | None
    liker: User | None
    created_at: datetime | None
    direction: Direction | None
    filter_user_id: str | None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class StreamGap:
    """Events from `start` to `end` (UTC) may be missing: the stream was down longer than X's backfill
    covers. `start` is when the stream was last known alive, `end` where the backfill began."""

    start: datetime
    end: datetime
