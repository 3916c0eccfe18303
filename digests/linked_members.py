"""The I/O of /likes members: which linked members of this server are among a post's likers.

One post lookup (its like count, and that it is the account's own) and one `liking_users` page (up
to 100 likers, all X lists); the likers are recorded in the like history (source "lookup"), then
matched to this server's member links in one query. Only members who ran /link are matched.
"""

from __future__ import annotations

from dataclasses import dataclass

from digests.post_checks import XReads, own_post
from store.like_history import LikeHistory
from store.member_links import MemberLinks
from ui.members_embeds import LinkedLiker


@dataclass(frozen=True, slots=True)
class PostMembers:
    """The linked members among the likers X listed, how many listed likers are not linked."""

    post_id: str
    author_username: str | None
    like_count: int | None
    listed: int
    linked: tuple[LinkedLiker, ...]
    unlinked: int


async def linked_likers(
    client: XReads, history: LikeHistory, links: MemberLinks, *, guild_id: int, account_id: str,
    post_id: str, now: float, author_username: str | None = None,
) -> PostMembers:
    """The linked members of guild_id among the likers of account_id's post post_id."""
    post = await own_post(client, account_id, post_id)
    page = await client.liking_users(post_id, max_results=100)
    await history.record_likers(account_id, post_id, [(u.id, u.username) for u in page.items],
                                source="lookup", now=now)
    if post.like_count is not None:
        await history.record_like_counts(account_id, {post_id: post.like_count}, now=now)
    found = await links.by_x_ids(guild_id, (u.id for u in page.items))
    # In X's order (newest like first), each with the handle X lists now.
    linked = tuple(LinkedLiker(found[u.id].member_id, u.id, u.username) for u in page.items if u.id in found)
    return PostMembers(post_id, author_username, post.like_count, len(page.items), linked,
                       len(page.items) - len(linked))
