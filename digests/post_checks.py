"""The one check /likes members and /likes trend share: the post is the serving account's own."""

from __future__ import annotations

from xapi import errors
from xapi.client import XClient
from xapi.models import Post


async def own_post(client: XClient, account_id: str, post_id: str) -> Post:
    """The post (one lookup, cached by the client), or NotAuthorizedForResource when another account's.

    X answers likes only for the account's own posts; refusing here says so before any likes request.
    """
    post = await client.post(post_id)
    if post.author_id != account_id:
        raise errors.NotAuthorizedForResource("Not the connected account's post.", endpoint="liking_users")
    return post
