"""Fixtures shared by the xapi tests: the spec-checked X sandbox of tests/conftest.py under short names,
and one aiohttp session per test (the client shares the caller's session, as the bot's does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from xapi.sandbox import XSandbox


@pytest.fixture
def sandbox(x_sandbox: XSandbox) -> XSandbox:
    """A started XSandbox on 127.0.0.1 (free port); its traffic is spec-checked at teardown."""
    return x_sandbox


@pytest.fixture
def sandbox_url(x_sandbox: XSandbox) -> str:
    """The running sandbox's base URL, e.g. http://127.0.0.1:PORT."""
    return x_sandbox.base_url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session closed at teardown."""
    async with aiohttp.ClientSession() as http:
        yield http
