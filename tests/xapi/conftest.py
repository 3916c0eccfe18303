"""Fixtures shared by the xapi tests: a running X sandbox on a free local port.

At teardown every request the sandbox received and every answer it sent are checked against X's
spec, so each test that uses the sandbox also proves both sides speak X's API. A test that sends
off-spec requests on purpose (to see X's 400s and 403s) is marked `off_spec_requests`; the answers
are checked all the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.spec.xspec import exchange_problems
from xapi.sandbox import XSandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "off_spec_requests: the test sends requests outside X's spec on purpose; "
        "the sandbox fixture then checks only its answers against the spec",
    )


@pytest_asyncio.fixture
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[XSandbox]:
    """A started XSandbox on 127.0.0.1 (free port), closed after the test; its traffic is spec-checked."""
    server = XSandbox()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
    check_requests = request.node.get_closest_marker("off_spec_requests") is None
    problems = exchange_problems(server.exchanges, requests=check_requests)
    assert not problems, (
        "sandbox traffic outside X's spec (mark the test off_spec_requests if it sends such requests "
        "on purpose):\n" + "\n".join(problems[:20])
    )


@pytest.fixture
def sandbox_url(sandbox: XSandbox) -> str:
    """The running sandbox's base URL, e.g. http://127.0.0.1:PORT."""
    return sandbox.base_url
