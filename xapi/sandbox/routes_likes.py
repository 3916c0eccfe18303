"""The two likes endpoints: a post's liking users and an account's liked posts.

As X since June 2024: only about the calling account's own posts and own likes.
"""

from __future__ import annotations

from aiohttp import web

from xapi.sandbox.auth import Caller
from xapi.sandbox.bodies import acting_account, page, path_id, posts_body, users_body
from xapi.sandbox.data import SandboxWorld
from xapi.sandbox.params import ParsedQuery
from xapi.sandbox.problems import Answer, forbidden, not_found


def liking_users(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/tweets/{id}/liking_users."""
    post_id = path_id(request)
    post = world.posts.get(post_id)
    if post is None or post_id in world.deleted_posts:
        return not_found("tweet", post_id, "id", "tweet")
    if post.author_id != acting_account(caller):
        detail = f"Sorry, you are not authorized to see the likes of the Post with id: [{post_id}]."
        return forbidden("tweet", post_id, detail)
    likers = world.visible_likers(post_id)
    seqs = {user_id: seq for seq, user_id in world.likers.get(post_id, [])}
    ids, meta = page(f"liking_users:{post_id}", [(seqs[u], u) for u in likers], query)
    body = users_body(world, [world.users[i] for i in ids], query, single=False)
    return Answer(200, {**body, "meta": meta})


def liked_posts(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/users/{id}/liked_tweets."""
    user_id = path_id(request)
    if user_id != acting_account(caller):
        return forbidden("user", user_id,
                         f"Sorry, you are not authorized to see the liked Posts of the User with id: "
                         f"[{user_id}].")
    entries = list(reversed(world.likes_by(user_id)))
    ids, meta = page(f"liked_posts:{user_id}", entries, query)
    body = posts_body(world, [world.posts[i] for i in ids], query, single=False)
    return Answer(200, {**body, "meta": meta})
