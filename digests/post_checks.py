"""The one check /likes members and /likes trend share: the post is the serving account's own.

XReads is what the members, trend and board readers call: XClient, or a server's metered view of
it (accounts.server_x.ServerX, within X_DAILY_ITEMS_PER_SERVER).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from xapi import errors
from xapi.models import Page, Post, User


class XReads(Protocol):
    """The X calls of /likes members, /likes trend and /likes top (XClient's signatures)."""

    async def post(self, post_id: str, *, deadline: float | None = None, fresh: bool = False) -> Post: ...

    async def posts(
        self, post_ids: Sequence[str], *, deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]: ...

    async def liking_users(
        self, post_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[User]: ...

    async def user_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]: ...


async def own_post(client: XReads, account_id: str, post_id: str) -> Post:
    """The post (one lookup, cached by the client), or NotAuthorizedForResource when another account's.

    X answers likes only for the account's own posts; refusing here says so before any likes request.
    """
    post = await client.post(post_id)
    if post.author_id != account_id:
        raise errors.NotAuthorizedForResource("Not the connected account's post.", endpoint="liking_users")
    return post
