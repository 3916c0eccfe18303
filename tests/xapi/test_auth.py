"""The three token kinds against the sandbox: real OAuth 1.0a signatures, OAuth 2.0 refresh with
rotation persisted before use, one refresh for concurrent callers, app-only bearer."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import aiosqlite
import pytest

from tests.xapi.support import SettableClock, make_client, oauth1
from xapi import errors
from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.client import XClient
from xapi.sandbox import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    XSandbox,
)

# ---- OAuth 1.0a --------------------------------------------------------------------------

async def test_oauth1_signature_is_accepted_on_every_endpoint(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox, "oauth1")
    first = await client.liked_posts(OWNER_ID, max_results=7)
    # A token with characters that need percent-encoding is signed over the bytes sent too.
    await client.liked_posts(OWNER_ID, max_results=7, pagination_token=first.next_token)
    await client.liking_users(POST_7_LIKES)
    await client.user_by_username(OWNER_USERNAME)
    await client.me()
    assert [r.auth_kind for r in sandbox.requests] == ["oauth1"] * 5
    assert all(r.status == 200 for r in sandbox.requests)


@pytest.mark.parametrize("wrong", ["api_secret", "access_token_secret"])
async def test_oauth1_wrong_secret_is_unauthorized_and_never_shown(
    sandbox: XSandbox, session: aiohttp.ClientSession, wrong: str,
) -> None:
    keys = {
        "api_key": SANDBOX_API_KEY, "api_secret": SANDBOX_API_SECRET, "access_token": SANDBOX_ACCESS_TOKEN,
        "access_token_secret": SANDBOX_ACCESS_TOKEN_SECRET,
    }
    keys[wrong] = "wrong-secret-value-1234"
    client = XClient(session, base_url=sandbox.base_url, user_auth=OAuth1UserAuth(**keys))
    with pytest.raises(errors.Unauthorized) as caught:
        await client.me()
    assert "wrong-secret-value-1234" not in str(caught.value)
    assert SANDBOX_ACCESS_TOKEN not in str(caught.value)
    assert [(r.auth_kind, r.status) for r in sandbox.requests] == [("invalid", 401)]


def test_oauth1_identity_holds_no_secret() -> None:
    identity = oauth1().identity
    for secret in (SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET):
        assert secret not in identity


# ---- OAuth 2.0 ---------------------------------------------------------------------------

async def test_oauth2_rotated_token_is_persisted_before_the_new_access_token_is_used(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    persisted: list[tuple[str, int]] = []

    async def on_rotate(new_refresh_token: str) -> None:
        await asyncio.sleep(0)  # a real store awaits a database write here
        api_calls = [r for r in sandbox.requests if r.auth_kind == "oauth2_user" and "oauth2" not in r.path]
        persisted.append((new_refresh_token, len(api_calls)))

    auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN, on_rotate)
    client = XClient(session, base_url=sandbox.base_url, user_auth=auth)
    assert (await client.me()).id == OWNER_ID
    assert persisted == [(sandbox.refresh_token, 0)]
    assert persisted[0][0] != SANDBOX_REFRESH_TOKEN
    assert [r.path for r in sandbox.requests] == ["/2/oauth2/token", "/2/users/me"]
    assert sandbox.requests[-1].auth_kind == "oauth2_user"

    # The old refresh token no longer works at X: only the persisted one does.
    stale = XClient(session, base_url=sandbox.base_url,
                    user_auth=OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN))
    with pytest.raises(errors.Unauthorized) as caught:
        await stale.me()
    assert SANDBOX_REFRESH_TOKEN not in str(caught.value)
    fresh = XClient(session, base_url=sandbox.base_url,
                    user_auth=OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, persisted[0][0]))
    assert (await fresh.me()).id == OWNER_ID


async def test_concurrent_calls_make_one_token_request(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    rotations: list[str] = []

    async def on_rotate(token: str) -> None:
        rotations.append(token)

    auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, on_rotate)
    client = XClient(session, base_url=sandbox.base_url, user_auth=auth)
    await asyncio.gather(client.me(), client.liking_users(POST_7_LIKES), client.liked_posts(OWNER_ID),
                         client.user_posts(OWNER_ID), client.post(POST_7_LIKES))
    assert len(sandbox.requests_to("oauth2/token")) == 1 and len(rotations) == 1
    assert len(sandbox.requests) == 6


async def test_401_refreshes_once_and_retries(session: aiohttp.ClientSession) -> None:
    clock = SettableClock()
    rotations: list[str] = []

    async def on_rotate(token: str) -> None:
        rotations.append(token)

    async with XSandbox(clock=clock, access_token_lifetime=7200) as sandbox:
        auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, None, sandbox.refresh_token, on_rotate)
        client = XClient(session, base_url=sandbox.base_url, user_auth=auth, clock=clock)
        await client.me()
        sandbox.revoke_tokens()  # X forgets the access token before the client expected
        assert (await client.liking_users(POST_7_LIKES)).items
        statuses = [(r.path.rsplit("/", 1)[-1], r.status) for r in sandbox.requests]
        assert statuses == [("token", 200), ("me", 200), ("liking_users", 401), ("token", 200),
                            ("liking_users", 200)]
        assert len(rotations) == 2

        # A refresh that X refuses ends in Unauthorized, not in a loop.
        auth_dead = OAuth2UserAuth(SANDBOX_CLIENT_ID, None, "sandbox-refresh-token-0", on_rotate)
        with pytest.raises(errors.Unauthorized, match="X_OAUTH2_REFRESH_TOKEN"):
            await XClient(session, base_url=sandbox.base_url, user_auth=auth_dead).me()


async def test_access_token_expiry_triggers_refresh_before_sending(session: aiohttp.ClientSession) -> None:
    clock = SettableClock()
    async with XSandbox(clock=clock, access_token_lifetime=7200) as sandbox:
        auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, clock=clock)
        client = XClient(session, base_url=sandbox.base_url, user_auth=auth, clock=clock, cache_ttl=0)
        await client.me()
        clock.advance(7200)
        await client.me()
        assert [r.status for r in sandbox.requests] == [200, 200, 200, 200]
        assert len(sandbox.requests_to("oauth2/token")) == 2


def locked_token_store(path: Path) -> tuple[sqlite3.Connection, Callable[[str], Awaitable[None]], list[str]]:
    """A real SQLite token table, a second connection holding its write lock, and a persist callback
    that writes to the table (waiting 50 ms for the lock, as a busy database would make it fail)."""
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE tokens (token TEXT NOT NULL)")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    saved: list[str] = []

    async def persist(token: str) -> None:
        async with aiosqlite.connect(path) as conn:
            await conn.execute("PRAGMA busy_timeout=50")
            await conn.execute("INSERT INTO tokens (token) VALUES (?)", (token,))
            await conn.commit()
        saved.append(token)

    return locker, persist, saved


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def test_a_rotated_token_that_cannot_be_saved_is_retried_and_never_spent_meanwhile(
    session: aiohttp.ClientSession, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SettableClock()
    locker, persist, saved = locked_token_store(tmp_path / "tokens.db")
    async with XSandbox(clock=clock, access_token_lifetime=7200) as sandbox:
        auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, persist,
                              clock=clock)
        client = XClient(session, base_url=sandbox.base_url, user_auth=auth, clock=clock, cache_ttl=0)
        try:
            with caplog.at_level(logging.WARNING, logger="likelens"):
                # X spent the old token: the new access token is used while the new refresh token waits.
                assert (await client.me()).id == OWNER_ID
            (line,) = [r.getMessage() for r in caplog.records]
            assert "The new X refresh token could not be saved (database is locked)" in line
            assert "sandbox-refresh-token" not in caplog.text
            assert auth.notices() == (
                "The new X refresh token is not saved yet (database is locked): retrying…",)
            assert (await client.me()).id == OWNER_ID  # the access token still works
            # Expired while unsaved: X is not asked (that would spend the only unsaved token).
            clock.advance(7200)
            with pytest.raises(errors.TokenNotSaved) as caught:
                await client.me()
            assert "sandbox-refresh-token" not in str(caught.value)
            assert len(sandbox.requests_to("oauth2/token")) == 1
            locker.rollback()
            await until(lambda: bool(saved), "the pending token saved after the lock was released")
            assert saved == [sandbox.refresh_token]
            assert auth.notices() == ()
            assert (await client.me()).id == OWNER_ID  # refreshed with the saved token
            assert len(sandbox.requests_to("oauth2/token")) == 2
        finally:
            locker.close()
            await auth.aclose()


async def test_closing_with_a_token_still_unsaved_tries_once_more_and_says_so(
    sandbox: XSandbox, session: aiohttp.ClientSession, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    locker, persist, saved = locked_token_store(tmp_path / "tokens.db")
    auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, persist)
    try:
        assert (await XClient(session, base_url=sandbox.base_url, user_auth=auth).me()).id == OWNER_ID
        with caplog.at_level(logging.ERROR, logger="likelens"):
            await auth.aclose()
        assert saved == []
        assert "never saved" in caplog.text and "X_OAUTH2_REFRESH_TOKEN" in caplog.text
        assert "sandbox-refresh-token" not in caplog.text
    finally:
        locker.close()


# ---- app-only bearer ---------------------------------------------------------------------

async def test_bearer_is_sent_as_app_only_and_wrong_bearer_is_unauthorized(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = make_client(session, sandbox, "bearer")
    assert (await client.user_by_username(OWNER_USERNAME)).id == OWNER_ID
    bad = XClient(session, base_url=sandbox.base_url, bearer=BearerAuth("not-the-bearer-token"))
    with pytest.raises(errors.Unauthorized) as caught:
        await bad.post(POST_7_LIKES)
    assert "not-the-bearer-token" not in str(caught.value)
    assert [r.auth_kind for r in sandbox.requests] == ["bearer", "invalid"]


async def test_a_caller_timing_out_mid_refresh_does_not_lose_the_rotation(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    persisted: list[str] = []
    slow_write = asyncio.Event()

    async def on_rotate(token: str) -> None:
        await slow_write.wait()  # a slow disk
        persisted.append(token)

    auth = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, on_rotate)
    client = XClient(session, base_url=sandbox.base_url, user_auth=auth)
    with pytest.raises(errors.Timeout):
        await client.me(deadline=0.1)
    slow_write.set()
    assert (await client.me()).id == OWNER_ID
    assert persisted == [sandbox.refresh_token]
    assert [r.path for r in sandbox.requests] == ["/2/oauth2/token", "/2/users/me"]
