"""Fixtures shared by the xapi tests: a running X sandbox on a free local port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from xapi.sandbox import XSandbox


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[XSandbox]:
    """A started XSandbox on 127.0.0.1 (free port), closed after the test."""
    server = XSandbox()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def sandbox_url(sandbox: XSandbox) -> str:
    """The running sandbox's base URL, e.g. http://127.0.0.1:PORT."""
    return sandbox.base_url
