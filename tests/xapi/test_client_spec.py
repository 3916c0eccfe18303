"""Every request the client sends, in both field namings and with each kind of token, matches X's
OpenAPI spec for its operation: parameter names, patterns, ranges and the auth scheme."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.spec.xspec import check_request, exchange_problems, find_operation
from tests.xapi.support import AuthChoice, make_client
from xapi.client import XClient
from xapi.fields import FieldNaming
from xapi.sandbox import OWNER_ID, OWNER_USERNAME, POST_7_LIKES, POST_100_LIKES, XSandbox


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


async def drive_every_method(client: XClient, *, user_context: bool) -> None:
    """Call each method the token allows, with and without pagination and at the range edges."""
    if user_context:
        first = await client.liking_users(POST_100_LIKES, max_results=1)
        await client.liking_users(POST_100_LIKES, max_results=100, pagination_token=first.next_token)
        liked = await client.liked_posts(OWNER_ID, max_results=5)
        await client.liked_posts(OWNER_ID, max_results=100, pagination_token=liked.next_token)
        await client.me()
    recent = await client.user_posts(OWNER_ID, max_results=5)
    if recent.next_token:
        await client.user_posts(OWNER_ID, max_results=100, pagination_token=recent.next_token)
    await client.user_by_username(OWNER_USERNAME)
    await client.post(POST_7_LIKES)


@pytest.mark.parametrize("auth", ["oauth1", "oauth2", "bearer"])
@pytest.mark.parametrize("naming", ["tweet", "post"])
async def test_every_request_matches_the_spec_of_its_naming(
    sandbox: XSandbox, session: aiohttp.ClientSession, naming: FieldNaming, auth: AuthChoice,
) -> None:
    client = make_client(session, sandbox, auth, naming=naming)
    await drive_every_method(client, user_context=auth != "bearer")
    api_requests = [r for r in sandbox.requests if find_operation(naming, r.method, r.path) is not None]
    assert len(api_requests) >= (4 if auth == "bearer" else 9)
    assert all(r.status == 200 for r in api_requests)
    problems = [problem for r in api_requests
                for problem in check_request(naming, r.method, r.path, r.query, r.auth_kind)]
    assert problems == []
    # The naming really is the one asked for: no parameter of the other generation slips through.
    other = "post" if naming == "tweet" else "tweet"
    assert not any(f"{other}.fields" in r.query for r in api_requests)
    assert exchange_problems(sandbox.exchanges) == []
