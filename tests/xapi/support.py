"""Helpers for the client tests: a settable clock and clients wired to a sandbox with each kind of token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp

from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.client import XClient
from xapi.fields import FieldNaming
from xapi.sandbox import (
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    XSandbox,
)

AuthChoice = Literal["oauth1", "oauth2", "bearer"]

ALL_SECRETS = (
    SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN_SECRET, SANDBOX_BEARER_TOKEN, SANDBOX_CLIENT_SECRET,
    SANDBOX_ACCESS_TOKEN, "sandbox-refresh-token", "sandbox-oauth2-access",
)


class SettableClock:
    """A wall clock the test moves forward by hand."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def oauth1() -> OAuth1UserAuth:
    """The sandbox's OAuth 1.0a user keys."""
    return OAuth1UserAuth(
        SANDBOX_API_KEY, SANDBOX_API_SECRET, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET,
    )


def oauth2(sandbox: XSandbox, on_rotate: Callable[[str], Awaitable[None]] | None = None) -> OAuth2UserAuth:
    """An OAuth 2.0 user auth holding the sandbox's live refresh token."""
    return OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token, on_rotate)


def make_client(
    session: aiohttp.ClientSession, sandbox: XSandbox, auth: AuthChoice = "oauth1", *,
    naming: FieldNaming = "tweet", **options: Any,
) -> XClient:
    """An XClient on the sandbox with one kind of token."""
    base_url: str = sandbox.base_url
    if auth == "bearer":
        bearer = BearerAuth(SANDBOX_BEARER_TOKEN)
        return XClient(session, base_url=base_url, bearer=bearer, field_naming=naming, **options)
    user = oauth1() if auth == "oauth1" else oauth2(sandbox)
    return XClient(session, base_url=base_url, user_auth=user, field_naming=naming, **options)


def client_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still running client code (a leak if any remain after a call returned)."""
    return [t for t in asyncio.all_tasks()
            if not t.done() and "XClient" in getattr(t.get_coro(), "__qualname__", "")]
