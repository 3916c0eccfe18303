"""The lookup endpoints: users by username, the caller (/2/users/me), posts and an account's posts."""

from __future__ import annotations

from aiohttp import web

from xapi.sandbox.auth import Caller
from xapi.sandbox.bodies import acting_account, page, path_id, posts_body, users_body
from xapi.sandbox.data import OWNER_ID, SandboxWorld, SeedPost
from xapi.sandbox.params import ParsedQuery, QueryError, parse_ids
from xapi.sandbox.problems import Answer, invalid_request, not_found, partial
from xapi.validation import USERNAME_PATTERN


def user_posts(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/users/{id}/tweets."""
    user_id = path_id(request)
    user = world.users.get(user_id)
    if user is None or user.suspended:
        return not_found("user", user_id, "id", "user")
    if user.protected and user_id != acting_account(caller):
        return Answer(200, {"errors": [partial(
            "not-authorized-for-resource", "Authorization Error",
            f"Sorry, you are not authorized to see the user with id: [{user_id}].",
            resource_type="user", resource_id=user_id, parameter="id",
        )]})
    posts = sorted((p for p in world.posts.values() if p.author_id == user_id
                    and p.id not in world.deleted_posts and _in_window(p, query)),
                   key=lambda p: (p.created_at, p.id), reverse=True)
    entries = [(int(p.created_at.timestamp() * 1000), p.id) for p in posts]
    ids, meta = page(f"user_posts:{user_id}", entries, query)
    body = posts_body(world, [world.posts[i] for i in ids], query, single=False)
    return Answer(200, {**body, "meta": meta})


def user_by_username(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/users/by/username/{username}."""
    username = request.match_info["username"]
    if not USERNAME_PATTERN.fullmatch(username):
        return invalid_request(QueryError(
            "username", username,
            f"The `username` query parameter value [{username}] does not match "
            f"^{USERNAME_PATTERN.pattern}$",
        ))
    user = world.user_by_username(username)
    if user is None:
        return not_found("user", username, "username", "user")
    if user.suspended:
        error = partial("resource-not-found", "Forbidden", f"User has been suspended: [{username}].",
                        resource_type="user", resource_id=username, parameter="username")
        return Answer(200, {"errors": [error]})
    return Answer(200, users_body(world, [user], query, single=True))


def post(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/tweets/{id}."""
    post_id = path_id(request)
    found = world.posts.get(post_id)
    if found is None or post_id in world.deleted_posts:
        return not_found("tweet", post_id, "id", "tweet")
    return Answer(200, posts_body(world, [found], query, single=True))


def posts(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/tweets?ids=."""
    try:
        ids = list(dict.fromkeys(parse_ids(request.query)))
    except QueryError as error:
        return invalid_request(error)
    gone = {i for i in ids if i not in world.posts or i in world.deleted_posts}
    found = [world.posts[i] for i in ids if i not in gone]
    body = posts_body(world, found, query, single=False)
    # As X: what it cannot return is a partial error each, beside the posts it found.
    missing = [partial("resource-not-found", "Not Found Error", f"Could not find tweet with ids: [{i}].",
                       resource_type="tweet", resource_id=i, parameter="ids") for i in ids if i in gone]
    if missing:
        body["errors"] = missing
    return Answer(200, body)


def me(world: SandboxWorld, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
    """GET /2/users/me: the calling account; a suspended one gets the suspended partial error."""
    user = world.users[acting_account(caller) or OWNER_ID]
    if user.suspended:
        error = partial("resource-not-found", "Forbidden", f"User has been suspended: [{user.id}].",
                        resource_type="user", resource_id=user.id, parameter="id")
        return Answer(200, {"errors": [error]})
    return Answer(200, users_body(world, [user], query, single=True))


def _in_window(post: SeedPost, query: ParsedQuery) -> bool:
    """Whether `post` falls in the user_posts window of start/end time and since/until id."""
    return not (
        (query.start_time is not None and post.created_at < query.start_time)
        or (query.end_time is not None and post.created_at >= query.end_time)
        or (query.since_id is not None and int(post.id) <= query.since_id)
        or (query.until_id is not None and int(post.id) >= query.until_id)
    )
