"""Fault matrix: each SandboxFaults switch × each client method ends in one `xapi.errors` class,
within the caller's deadline, with no client task left running and no secret in the message."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from tests.xapi.support import ALL_SECRETS, client_tasks, make_client
from xapi import errors
from xapi.client import ENDPOINTS, XClient
from xapi.models import Page, Post, User
from xapi.sandbox import OWNER_ID, OWNER_USERNAME, POST_7_LIKES, POST_100_LIKES, SandboxFaults, XSandbox

Call = Callable[[XClient, float], Awaitable[Any]]

METHODS: dict[str, Call] = {
    "liking_users": lambda c, d: c.liking_users(POST_7_LIKES, deadline=d),
    "liked_posts": lambda c, d: c.liked_posts(OWNER_ID, deadline=d),
    "user_posts": lambda c, d: c.user_posts(OWNER_ID, deadline=d),
    "user_by_username": lambda c, d: c.user_by_username(OWNER_USERNAME, deadline=d),
    "post": lambda c, d: c.post(POST_7_LIKES, deadline=d),
    "me": lambda c, d: c.me(deadline=d),
    "posts": lambda c, d: c.posts([POST_7_LIKES, POST_100_LIKES], deadline=d),
}

# switch settings -> (expected error, caller deadline in seconds, most attempts the client may make)
FAULTS: dict[str, tuple[dict[str, Any], type[errors.XApiError], float, int]] = {
    "latency": ({"latency_seconds": 0.4}, errors.Timeout, 0.15, 1),
    "server_errors": ({"server_error_ratio": 1.0}, errors.ServerError, 0.6, 4),
    "malformed_json": ({"malformed_json": True}, errors.UndecodableResponse, 2.0, 1),
    "html_errors_on_5xx": ({"html_errors": True, "server_error_ratio": 1.0}, errors.ServerError, 0.6, 4),
    # An HTML page hides the problem type: only the status (429) is left to go by.
    "html_errors_on_cap": ({"html_errors": True, "usage_capped": True}, errors.RateLimited, 2.0, 1),
    "reset_connections": ({"reset_connections": True}, errors.ServerError, 0.6, 4),
    "usage_capped": ({"usage_capped": True}, errors.UsageCapped, 2.0, 1),
    "echo_authorization": ({"echo_authorization": True}, errors.InvalidRequest, 2.0, 1),
}


# Switches that do not make a call fail: each has its own test below.
NOT_FAILURES = {"partial_errors"}
LIST_METHODS = {"liking_users", "liked_posts", "user_posts", "posts"}


def test_matrix_covers_every_client_method() -> None:
    assert set(METHODS) == set(ENDPOINTS)


def test_matrix_covers_every_switch() -> None:
    switched = {name for settings, *_ in FAULTS.values() for name in settings}
    assert switched | NOT_FAILURES == set(SandboxFaults.__dataclass_fields__)


@pytest.mark.parametrize("method", METHODS)
async def test_a_partial_error_on_a_200_is_returned_not_raised(
    sandbox: XSandbox, session: aiohttp.ClientSession, method: str,
) -> None:
    sandbox.faults.partial_errors = True
    client = make_client(session, sandbox)
    result = await METHODS[method](client, 2.0)
    if method in LIST_METHODS:
        # The page keeps its items and carries X's partial error for the caller to show.
        assert isinstance(result, Page) and result.items
        assert [(e.kind, e.resource_type) for e in result.errors] == [("resource-not-found", "tweet")]
    else:
        # X sends partial errors with lists; a single object comes back whole.
        assert isinstance(result, User | Post)
    assert client_tasks() == [] and client.stats.requests_sent == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_ends_in_an_error_class_within_the_deadline(
    sandbox: XSandbox, session: aiohttp.ClientSession, fault: str, method: str,
) -> None:
    settings, expected, deadline, most_attempts = FAULTS[fault]
    for name, value in settings.items():
        setattr(sandbox.faults, name, value)
    client = make_client(session, sandbox)
    # The client must give up by itself within its deadline; this outer bound turns an overrun into a
    # failure. The slack covers the client's own 0.05 s grace and a late event-loop wakeup on a loaded
    # 2-core machine (worst overrun measured: 0.004 s while the rest of the suite ran), but not one
    # more attempt or backoff sleep (0.125 s and more).
    async with asyncio.timeout(deadline + 0.25):
        with pytest.raises(errors.XApiError) as caught:
            await METHODS[method](client, deadline)
    assert type(caught.value) is expected
    assert client_tasks() == []
    assert 1 <= client.stats.requests_sent <= most_attempts
    # aiohttp itself resends an idempotent GET once when a kept-alive connection drops; a slow
    # sandbox records a request only once it answers.
    assert len(sandbox.requests) <= 2 * client.stats.requests_sent
    text = str(caught.value)
    assert all(secret not in text for secret in ALL_SECRETS)


async def test_usage_cap_is_never_retried_and_not_mistaken_for_a_rate_window(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.usage_capped = True
    client = make_client(session, sandbox)
    for _ in range(2):
        with pytest.raises(errors.UsageCapped):
            await client.me()
    assert len(sandbox.requests) == 2


async def test_an_occasional_5xx_is_retried_and_succeeds(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.server_error_ratio = 0.5  # every 2nd request answers 503
    client = make_client(session, sandbox)
    await client.me()
    assert (await client.post(POST_7_LIKES)).id == POST_7_LIKES
    assert [r.status for r in sandbox.requests] == [200, 503, 200]
    assert client.stats.requests_sent == 3


async def test_retries_stop_at_the_cap_however_long_the_deadline(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.server_error_ratio = 1.0  # every request answers 503
    client = make_client(session, sandbox)
    with pytest.raises(errors.ServerError):
        # Backoff sleeps add up to at most 1.75 s for 4 attempts; 30 s would allow many more.
        await client.me(deadline=30)
    # The cap: the first try and 3 retries, then X's 503 is the answer.
    assert client.stats.requests_sent == 4
    assert [r.status for r in sandbox.requests] == [503] * 4


async def test_4xx_is_never_retried(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    client = make_client(session, sandbox, "bearer")
    with pytest.raises(errors.NotFound):
        await client.user_by_username("nobody_here_42")
    with pytest.raises(errors.NotAuthorizedForResource):
        await make_client(session, sandbox).liked_posts("1600000000000000002")
    assert [r.status for r in sandbox.requests] == [200, 403]


async def test_cancelled_caller_leaves_nothing_running(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.latency_seconds = 0.3
    client = make_client(session, sandbox)
    call = asyncio.ensure_future(client.me())
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert client_tasks() == []


async def test_a_joiner_timing_out_does_not_cancel_the_shared_request(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.latency_seconds = 0.3
    client = make_client(session, sandbox)
    patient = asyncio.ensure_future(client.me(deadline=5))
    await asyncio.sleep(0)
    with pytest.raises(errors.Timeout):
        await client.me(deadline=0.05)
    assert (await patient).id == OWNER_ID
    assert len(sandbox.requests) == 1 and client_tasks() == []


async def test_a_joiner_with_more_time_outlives_the_first_callers_deadline(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.faults.latency_seconds = 0.2
    client = make_client(session, sandbox)
    hasty = asyncio.ensure_future(client.me(deadline=0.05))
    await asyncio.sleep(0)
    patient = asyncio.ensure_future(client.me(deadline=5))
    with pytest.raises(errors.Timeout):
        await hasty
    assert (await patient).id == OWNER_ID
    assert client.stats.requests_sent == 2 and client_tasks() == []
