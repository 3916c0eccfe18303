"""The one table of field lists and expansions per naming generation of X API v2.

X renamed `tweet` to `post` in spec v2.167 (2026-08): `tweet.fields` became `post.fields` and
`pinned_tweet_id` became `pinned_post_id`. LikeLens sends one naming, chosen by a setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldNaming = Literal["tweet", "post"]

# What the product shows about a user; id, name and username always come back.
_USER_FIELDS = "created_at,description,profile_image_url,protected,public_metrics,verified"


@dataclass(frozen=True, slots=True)
class NamingFields:
    """Query parameters for one naming generation."""

    post_fields_param: str
    post_fields: str
    pinned_expansion: str

    def for_users(self) -> dict[str, str]:
        """Parameters of the endpoints that answer users (with their pinned post expanded)."""
        return {
            "user.fields": _USER_FIELDS,
            "expansions": self.pinned_expansion,
            self.post_fields_param: self.post_fields,
        }

    def for_posts(self) -> dict[str, str]:
        """Parameters of the endpoints that answer posts (with their author expanded)."""
        return {
            self.post_fields_param: self.post_fields,
            "expansions": "author_id",
            "user.fields": _USER_FIELDS,
        }


NAMING_FIELDS: dict[FieldNaming, NamingFields] = {
    "tweet": NamingFields("tweet.fields", "author_id,created_at,public_metrics", "pinned_tweet_id"),
    # v2.167's post.fields enum has no author_id: the author_id expansion brings it.
    "post": NamingFields("post.fields", "created_at,public_metrics", "pinned_post_id"),
}
