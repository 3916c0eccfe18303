"""No token or secret appears in any exception the client raises (text, repr, or chained cause)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.xapi.support import ALL_SECRETS, AuthChoice, make_client
from xapi import errors
from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.client import XClient
from xapi.sandbox import (
    OWNER_ID,
    POST_7_LIKES,
    POST_DELETED,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_CLIENT_ID,
    XSandbox,
)

WRONG = "wrong-secret-never-shown-42"
FAULT_SETTINGS: list[dict[str, float | bool]] = [
    {"server_error_ratio": 1.0}, {"malformed_json": True}, {"html_errors": True, "server_error_ratio": 1.0},
    {"reset_connections": True}, {"usage_capped": True}, {"latency_seconds": 0.4},
]


def texts_of(exc: BaseException) -> list[str]:
    """str and repr of the exception and of everything chained to it."""
    found: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(found) < 20:
        found += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return found


def assert_no_secret(exc: BaseException) -> None:
    for text in texts_of(exc):
        for secret in (*ALL_SECRETS, WRONG):
            assert secret not in text, f"{type(exc).__name__} shows a secret"


@pytest.mark.parametrize("auth", ["oauth1", "oauth2", "bearer"])
async def test_no_secret_in_any_fault_error(
    sandbox: XSandbox, session: aiohttp.ClientSession, auth: AuthChoice,
) -> None:
    client = make_client(session, sandbox, auth, cache_ttl=0)
    for settings in FAULT_SETTINGS:
        for name, value in settings.items():
            setattr(sandbox.faults, name, value)
        with pytest.raises(errors.XApiError) as caught:
            await client.post(POST_7_LIKES, deadline=0.25)
        assert_no_secret(caught.value)
        for name in settings:
            setattr(sandbox.faults, name, type(getattr(sandbox.faults, name))())
    calls = [client.post(POST_DELETED), client.liking_users("x"), client.liked_posts("1600000000000000002")]
    for call in calls:
        with pytest.raises(errors.XApiError) as caught:
            await call
        assert_no_secret(caught.value)


async def test_no_secret_when_credentials_are_refused(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    url = sandbox.base_url
    clients = [
        XClient(session, base_url=url,
                user_auth=OAuth1UserAuth(SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, WRONG)),
        XClient(session, base_url=url, user_auth=OAuth2UserAuth(SANDBOX_CLIENT_ID, WRONG, WRONG)),
        XClient(session, base_url=url, user_auth=OAuth2UserAuth(SANDBOX_CLIENT_ID, None, WRONG)),
        XClient(session, base_url=url, bearer=BearerAuth(WRONG)),
    ]
    for client in clients:
        with pytest.raises(errors.Unauthorized) as caught:
            await client.user_posts(OWNER_ID)
        assert_no_secret(caught.value)


async def test_no_secret_in_local_refusals(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    bearer_only = XClient(session, base_url=sandbox.base_url, bearer=BearerAuth(WRONG))
    with pytest.raises(errors.MissingUserContext) as caught:
        await bearer_only.me()
    assert_no_secret(caught.value)


@pytest.mark.parametrize("auth", ["oauth1", "oauth2", "bearer"])
async def test_a_detail_echoing_the_authorization_header_is_scrubbed(
    sandbox: XSandbox, session: aiohttp.ClientSession, auth: AuthChoice,
) -> None:
    sandbox.faults.echo_authorization = True
    client = make_client(session, sandbox, auth)
    with pytest.raises(errors.InvalidRequest) as caught:
        await client.post(POST_7_LIKES)
    assert_no_secret(caught.value)
    # X's detail did reach the message, with the credentials cut out of it.
    assert "Authorization header [" in str(caught.value) and "[redacted]" in str(caught.value)


async def test_no_fragment_of_a_long_token_survives_the_cut_of_x_s_text(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    # X's text is cut to a short length: redacting after the cut would miss a token cut in half.
    long_token = "long-bearer-" + "q7" * 150
    sandbox.faults.echo_authorization = True
    client = XClient(session, base_url=sandbox.base_url, bearer=BearerAuth(long_token))
    with pytest.raises(errors.InvalidRequest) as caught:
        await client.post(POST_7_LIKES)
    for text in texts_of(caught.value):
        assert all(long_token[i:i + 12] not in text for i in range(len(long_token) - 12))
    assert "[redacted]" in str(caught.value)
