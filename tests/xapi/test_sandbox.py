"""The X sandbox: seeded data, X's auth rules, pagination, rate limits and fault switches."""

from __future__ import annotations

import aiohttp

from xapi.sandbox import OWNER_ID, POST_MANY_LIKES, SANDBOX_BEARER_TOKEN, XSandbox


async def test_bearer_on_liking_users_is_refused_as_unsupported_authentication(
    sandbox: XSandbox, sandbox_url: str,
) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{sandbox_url}/2/tweets/{POST_MANY_LIKES}/liking_users"
        async with session.get(url, headers={"Authorization": f"Bearer {SANDBOX_BEARER_TOKEN}"}) as response:
            body = await response.json(content_type=None)
    assert response.status == 403
    assert body["type"] == "https://api.x.com/2/problems/unsupported-authentication"
    assert sandbox.requests[-1].auth_kind == "bearer"
    assert sandbox.requests_to("liking_users")[0].status == 403
    assert OWNER_ID
