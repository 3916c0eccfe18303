"""Fixtures shared by the xapi tests: a running X sandbox on a free local port.

Every answer the sandbox sent during a test is checked against X's spec at teardown, so each test
that uses the sandbox also proves the sandbox answers as X documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.spec.xspec import exchange_problems
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
    problems = exchange_problems(server.exchanges)
    assert not problems, "the sandbox answered outside X's spec:\n" + "\n".join(problems[:20])


@pytest.fixture
def sandbox_url(sandbox: XSandbox) -> str:
    """The running sandbox's base URL, e.g. http://127.0.0.1:PORT."""
    return sandbox.base_url
