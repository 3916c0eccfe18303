"""XClient against the local X sandbox: typed results in both namings, refusals, auth choice, validation."""

from __future__ import annotations

import asyncio
from datetime import datetime

import aiohttp
import pytest

from tests.xapi.support import make_client
from xapi import errors
from xapi.auth import BearerAuth
from xapi.client import XClient
from xapi.fields import FieldNaming
from xapi.sandbox import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_DELETED,
    POST_MANY_LIKES,
    POST_NO_LIKES,
    POST_OTHER_ACCOUNT,
    SANDBOX_BEARER_TOKEN,
    USER_OTHER_ID,
    USER_PROTECTED_ID,
    XSandbox,
)

NAMINGS: list[FieldNaming] = ["tweet", "post"]


# ---- every method, both namings ----------------------------------------------------------

@pytest.mark.parametrize("naming", NAMINGS)
async def test_each_method_returns_typed_results(
    sandbox: XSandbox, session: aiohttp.ClientSession, naming: FieldNaming,
) -> None:
    client = make_client(session, sandbox, naming=naming)
    likers = await client.liking_users(POST_7_LIKES)
    assert likers.result_count == len(likers.items) == 7 and likers.next_token is None
    assert all(u.username and u.created_at is not None for u in likers.items)
    pinned = [u.pinned_post_id for u in likers.items if u.pinned_post_id]
    assert all(likers.includes.post(pid) is not None for pid in pinned)

    liked = await client.liked_posts(OWNER_ID, max_results=5)
    assert len(liked.items) == 5 and liked.next_token
    assert all(p.author_id and liked.includes.user(p.author_id) for p in liked.items)

    recent = await client.user_posts(OWNER_ID)
    assert recent.items and all(p.author_id == OWNER_ID for p in recent.items)

    post = await client.post(POST_7_LIKES)
    assert post.id == POST_7_LIKES and post.like_count == 7 and isinstance(post.created_at, datetime)

    owner = await client.user_by_username(OWNER_USERNAME)
    me = await client.me()
    assert owner.id == me.id == OWNER_ID and me.username == OWNER_USERNAME
    assert {r.auth_kind for r in sandbox.requests} == {"oauth1"}
    assert all(r.status == 200 for r in sandbox.requests)


async def test_likers_are_capped_at_100_like_x_and_an_empty_page_is_not_an_error(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox)
    many = await client.liking_users(POST_MANY_LIKES)
    assert len(many.items) == 100 and many.next_token is None
    assert (await client.post(POST_MANY_LIKES)).like_count == 140
    empty = await client.liking_users(POST_NO_LIKES)
    assert empty.items == () and empty.result_count == 0 and empty.errors == ()


async def test_pages_follow_next_token_and_previous_token(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox)
    first = await client.liked_posts(OWNER_ID, max_results=100)
    second = await client.liked_posts(OWNER_ID, pagination_token=first.next_token)
    assert second.previous_token
    back = await client.liked_posts(OWNER_ID, pagination_token=second.previous_token)
    assert [p.id for p in back.items] == [p.id for p in first.items]


# ---- X's refusals ----------------------------------------------------------------------

@pytest.mark.parametrize(("call", "expected"), [
    (lambda c: c.liking_users(POST_DELETED), errors.NotFound),
    (lambda c: c.post(POST_DELETED), errors.NotFound),
    (lambda c: c.liking_users(POST_OTHER_ACCOUNT), errors.NotAuthorizedForResource),
    (lambda c: c.liked_posts(USER_OTHER_ID), errors.NotAuthorizedForResource),
    (lambda c: c.user_by_username("nobody_here_42"), errors.NotFound),
])
async def test_x_refusals_map_to_one_error_class(
    sandbox: XSandbox, session: aiohttp.ClientSession, call: object, expected: type[errors.XApiError],
) -> None:
    client = make_client(session, sandbox)
    with pytest.raises(expected) as caught:
        await call(client)  # type: ignore[operator]
    assert caught.value.endpoint in ("liking_users", "liked_posts", "post", "user_by_username")
    assert len(sandbox.requests) == 1


async def test_protected_account_posts_refused_for_another_account(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox, "bearer")
    with pytest.raises(errors.NotAuthorizedForResource):
        await client.user_posts(USER_PROTECTED_ID)


# ---- auth choice per endpoint ------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: c.liking_users(POST_7_LIKES), lambda c: c.liked_posts(OWNER_ID), lambda c: c.me(),
])
async def test_bearer_only_refuses_user_context_endpoints_locally(
    sandbox: XSandbox, session: aiohttp.ClientSession, call: object,
) -> None:
    client = make_client(session, sandbox, "bearer")
    with pytest.raises(errors.MissingUserContext) as caught:
        await call(client)  # type: ignore[operator]
    text = str(caught.value)
    for variable in ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET",
                     "X_CLIENT_ID", "X_OAUTH2_REFRESH_TOKEN"):
        assert variable in text
    assert SANDBOX_BEARER_TOKEN not in text
    assert sandbox.requests == []


async def test_bearer_serves_public_lookups_and_spares_the_user_budget(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox, "bearer")
    assert (await client.user_by_username(OWNER_USERNAME)).id == OWNER_ID
    assert (await client.post(POST_7_LIKES)).id == POST_7_LIKES
    assert (await client.user_posts(OWNER_ID, max_results=5)).items
    assert {r.auth_kind for r in sandbox.requests} == {"bearer"}

    both = make_client(session, sandbox, bearer=BearerAuth(SANDBOX_BEARER_TOKEN))
    await both.liking_users(POST_7_LIKES)
    await both.post(POST_NO_LIKES)
    assert [r.auth_kind for r in sandbox.requests[-2:]] == ["oauth1", "bearer"]


async def test_no_token_at_all_names_every_variable(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = XClient(session, base_url=sandbox.base_url)
    with pytest.raises(errors.MissingUserContext, match="X_BEARER_TOKEN"):
        await client.post(POST_7_LIKES)
    assert sandbox.requests == []


@pytest.mark.parametrize("naming", NAMINGS)
async def test_posts_looks_up_many_in_one_request_with_a_partial_error_per_missing_id(
    sandbox: XSandbox, session: aiohttp.ClientSession, naming: FieldNaming,
) -> None:
    client = make_client(session, sandbox, naming=naming, bearer=BearerAuth(SANDBOX_BEARER_TOKEN))
    page = await client.posts([POST_7_LIKES, POST_DELETED, POST_MANY_LIKES, POST_7_LIKES])
    assert [(p.id, p.like_count) for p in page.items] == [(POST_7_LIKES, 7), (POST_MANY_LIKES, 140)]
    assert all(page.includes.user(p.author_id or "") for p in page.items)
    assert [(e.kind, e.resource_id) for e in page.errors] == [("resource-not-found", POST_DELETED)]
    # One request, each id once, with the app's bearer (a public lookup spares the account's budget).
    (request,) = sandbox.requests
    assert request.path == "/2/tweets" and request.auth_kind == "bearer"
    assert request.query["ids"] == f"{POST_7_LIKES},{POST_DELETED},{POST_MANY_LIKES}"
    assert client.budget("posts") is not None and client.stats.requests_sent == 1
    # A batch of ids X has none of is an answer (every id a partial error), not an exception.
    gone = await client.posts([POST_DELETED])
    assert gone.items == () and [e.resource_id for e in gone.errors] == [POST_DELETED]


async def test_posts_answers_from_the_cache_unless_fresh(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox)
    ids = [str(10**17 + i) for i in range(99)] + [POST_7_LIKES]
    first = await client.posts(ids)
    assert len(first.errors) == 99 and [p.id for p in first.items] == [POST_7_LIKES]
    assert await client.posts(ids) == first and len(sandbox.requests) == 1
    both = await asyncio.gather(client.posts(ids, fresh=True), client.posts(ids, fresh=True))
    assert both[0] == both[1] == first and len(sandbox.requests) == 2


# ---- validation before sending -----------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda c: c.liking_users("12a"), lambda c: c.liking_users("1" * 20), lambda c: c.liking_users(""),
    lambda c: c.liking_users("123\n"), lambda c: c.liking_users(123),
    lambda c: c.liking_users(POST_7_LIKES, max_results=0),
    lambda c: c.liking_users(POST_7_LIKES, max_results=101),
    lambda c: c.liked_posts(OWNER_ID, max_results=4), lambda c: c.user_posts(OWNER_ID, max_results=101),
    lambda c: c.liked_posts(OWNER_ID, max_results=True),
    lambda c: c.liked_posts(OWNER_ID, pagination_token=""),
    lambda c: c.user_posts(OWNER_ID, pagination_token="a b"), lambda c: c.user_by_username("@likelens_demo"),
    lambda c: c.user_by_username("a" * 16), lambda c: c.user_by_username("x/../me"),
    lambda c: c.post("../users/me"), lambda c: c.post(POST_7_LIKES, deadline=0),
    lambda c: c.posts([]), lambda c: c.posts(POST_7_LIKES), lambda c: c.posts([POST_7_LIKES, "12a"]),
    lambda c: c.posts([POST_7_LIKES, 123]), lambda c: c.posts([str(10**17 + i) for i in range(101)]),
    lambda c: c.posts([POST_7_LIKES], deadline=0),
])
async def test_invalid_input_is_refused_and_nothing_is_sent(
    sandbox: XSandbox, session: aiohttp.ClientSession, call: object,
) -> None:
    client = make_client(session, sandbox)
    with pytest.raises(errors.InvalidInput):
        await call(client)  # type: ignore[operator]
    assert sandbox.requests == [] and client.stats.requests_sent == 0


async def test_edge_of_each_range_is_accepted(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    client = make_client(session, sandbox)
    assert len((await client.liking_users(POST_7_LIKES, max_results=1)).items) == 1
    assert len((await client.liked_posts(OWNER_ID, max_results=5)).items) == 5
    with pytest.raises(errors.NotFound):
        await client.user_by_username("a" * 15)
    assert len(sandbox.requests) == 3 and all(r.status == 200 for r in sandbox.requests)
