"""Shared pieces of the sandbox's endpoint handlers: path ids, pages, and user/post answer bodies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from xapi.sandbox.auth import Caller
from xapi.sandbox.data import JsonObject, SandboxWorld, SeedPost, SeedUser, post_json, user_json
from xapi.sandbox.pages import cut_page, decode_token, encode_token
from xapi.sandbox.params import ParsedQuery, QueryError
from xapi.sandbox.problems import Answer, Refused, invalid_request
from xapi.validation import ID_PATTERN

# What every endpoint handler is: auth, budget and query are already checked when it runs.
Handler = Callable[[SandboxWorld, web.Request, Caller, ParsedQuery], Answer]


def acting_account(caller: Caller) -> str | None:
    """The account a user-context caller acts as; None for app-only callers."""
    return caller.account_id if caller.kind in ("oauth1", "oauth2_user") else None


def path_id(request: web.Request, name: str = "id") -> str:
    """The numeric id in the path, or X's 400 naming it."""
    value = request.match_info[name]
    if not ID_PATTERN.fullmatch(value):
        raise Refused(invalid_request(QueryError(
            name, value,
            f"The `{name}` query parameter value [{value}] does not match ^{ID_PATTERN.pattern}$",
        )))
    return value


def page(scope: str, entries: list[tuple[int, str]], query: ParsedQuery) -> tuple[list[str], JsonObject]:
    """The ids of the page the query asks for among `entries`, and the page's meta."""
    cursor = None
    if query.pagination_token is not None:
        cursor = decode_token(scope, query.pagination_token)
        if cursor is None:
            raise Refused(invalid_request(QueryError(
                "pagination_token", query.pagination_token,
                f"The `pagination_token` query parameter value [{query.pagination_token}] is not valid",
            )))
    cut = cut_page(entries, cursor, query.max_results)
    meta: JsonObject = {"result_count": len(cut.ids)}
    if cut.next_cursor is not None:
        meta["next_token"] = encode_token(scope, cut.next_cursor)
    if cut.prev_cursor is not None:
        meta["previous_token"] = encode_token(scope, cut.prev_cursor)
    return cut.ids, meta


def users_body(world: SandboxWorld, users: list[SeedUser], query: ParsedQuery, *, single: bool) -> JsonObject:
    """`data` (and pinned posts in `includes`) for a user answer."""
    naming = query.naming
    pinned = ("pinned_post_id" if naming == "post" else "pinned_tweet_id") in query.expansions
    data = [user_json(u, query.user_fields, naming, pinned=pinned) for u in users]
    body: JsonObject = {"data": data[0] if single else data} if data else {}
    if pinned:
        posts = [world.posts[u.pinned_post_id] for u in users if u.pinned_post_id]
        if posts:
            body["includes"] = {"posts" if naming == "post" else "tweets": [
                post_json(p, query.post_fields, naming) for p in unique(posts)
            ]}
    return body


def posts_body(world: SandboxWorld, posts: list[SeedPost], query: ParsedQuery, *, single: bool) -> JsonObject:
    """`data` (and authors in `includes`) for a post answer."""
    naming = query.naming
    fields = query.post_fields | (query.expansions & {"author_id"})
    data = [post_json(p, fields, naming) for p in posts]
    body: JsonObject = {"data": data[0] if single else data} if data else {}
    if "author_id" in query.expansions and posts:
        authors = unique([world.users[p.author_id] for p in posts])
        users = [user_json(u, query.user_fields, naming, pinned=False) for u in authors]
        body["includes"] = {"users": users}
    return body


_Item = TypeVar("_Item", SeedUser, SeedPost)


def unique(items: list[_Item]) -> list[_Item]:
    """`items` without repeated ids, first occurrence kept."""
    seen: set[str] = set()
    result: list[_Item] = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            result.append(item)
    return result
