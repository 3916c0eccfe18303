"""The X API v2 endpoints LikeLens calls: each one's budget key, path template and rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One X endpoint LikeLens calls: its budget key, path template and rules."""

    name: str
    path: str
    needs_user: bool
    answers: Literal["users", "posts"]
    max_results: tuple[int, int] | None = None


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e for e in (
        Endpoint("liking_users", "/2/tweets/{}/liking_users", True, "users", (1, 100)),
        Endpoint("liked_posts", "/2/users/{}/liked_tweets", True, "posts", (5, 100)),
        Endpoint("user_posts", "/2/users/{}/tweets", False, "posts", (5, 100)),
        Endpoint("user_by_username", "/2/users/by/username/{}", False, "users"),
        Endpoint("post", "/2/tweets/{}", False, "posts"),
        Endpoint("posts", "/2/tweets", False, "posts"),
        Endpoint("me", "/2/users/me", True, "users"),
    )
}
