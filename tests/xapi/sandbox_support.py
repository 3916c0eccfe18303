"""Helpers of the X sandbox tests: a Caller sending requests with plain aiohttp and oauthlib, and its fixture.

Not XClient: these tests pin down the server's behaviour on its own.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest_asyncio
from oauthlib.oauth1 import Client as OAuth1Signer
from yarl import URL

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

USER_FIELDS = "created_at,description,verified,public_metrics,protected,profile_image_url"
PROBLEM = "https://api.x.com/2/problems/"


class Caller:
    """Sends requests to a sandbox with one kind of credentials."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def get(
        self, path: str, query: dict[str, str] | None = None, *, auth: str = "oauth1",
        secret: str = SANDBOX_API_SECRET, token: str = SANDBOX_BEARER_TOKEN,
    ) -> tuple[int, dict[str, str], Any]:
        url = self.base_url + path + ("?" + urlencode(query, safe=",") if query else "")
        headers: dict[str, str] = {}
        if auth == "oauth1":
            signer = OAuth1Signer(SANDBOX_API_KEY, secret, SANDBOX_ACCESS_TOKEN, SANDBOX_ACCESS_TOKEN_SECRET)
            url, signed, _ = signer.sign(url)
            headers.update(signed)
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.get(URL(url, encoded=True), headers=headers) as response:
            text = await response.text()
            try:
                body: Any = json.loads(text)
            except ValueError:
                body = text
            return response.status, dict(response.headers), body

    async def refresh(
        self, refresh_token: str, *, secret: str | None = SANDBOX_CLIENT_SECRET,
    ) -> tuple[int, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": SANDBOX_CLIENT_ID}
        headers: dict[str, str] = {}
        if secret is not None:
            pair = base64.b64encode(f"{SANDBOX_CLIENT_ID}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        url = self.base_url + "/2/oauth2/token"
        async with self.session.post(url, data=form, headers=headers) as response:
            return response.status, await response.json()


@pytest_asyncio.fixture
async def x(sandbox: XSandbox) -> AsyncIterator[Caller]:
    async with aiohttp.ClientSession() as session:
        yield Caller(session, sandbox.base_url)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def all_pages(x: Caller, path: str, size: int) -> list[list[str]]:
    pages, token = [], None
    while True:
        query = {"max_results": str(size)} | ({"pagination_token": token} if token else {})
        status, _, body = await x.get(path, query)
        assert status == 200, body
        pages.append([item["id"] for item in body.get("data", [])])
        token = body["meta"].get("next_token")
        if token is None:
            return pages
