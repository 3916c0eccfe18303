"""web.app and web.pages through a real started server and the real aiohttp client."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from accounts.oauth_flow import CallbackQuery
from store.db import open_database
from store.oauth_states import OAuthStates
from tests.web.support import Health, StateCheckingHandler, running_web
from web import CallbackPage
from web.pages import SECURITY_HEADERS, render_html

NOW = 1_800_000_000.0
SECRET_CODE = "Zm9vYmFy-secret-code-0123456789"
SECRET_STATE = "state-secret-abcdefghijklmnopqrstuvwxyz"
SECRET_CALLBACK = f"/x/callback?state={SECRET_STATE}&code={SECRET_CODE}"


@pytest_asyncio.fixture
async def states(tmp_path: Path) -> AsyncIterator[OAuthStates]:
    conn = await open_database(tmp_path / "likelens.db")
    try:
        yield OAuthStates(conn)
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _handler(states: OAuthStates) -> StateCheckingHandler:
    return StateCheckingHandler(states, clock=lambda: NOW)


async def test_healthz_follows_the_gateway(states: OAuthStates, session: aiohttp.ClientSession) -> None:
    health = Health(connected=True)
    async with running_web(_handler(states), health) as server:
        async with session.get(server.base_url + "/healthz") as response:
            assert response.status == 200 and "connected" in await response.text()
        health.connected = False
        async with session.get(server.base_url + "/healthz") as response:
            assert response.status == 503 and "not connected" in await response.text()
        async with session.head(server.base_url + "/healthz") as response:
            assert response.status == 503
        health.connected = True
        async with session.head(server.base_url + "/healthz") as response:
            assert response.status == 200


async def test_the_callback_hands_code_state_and_error_to_the_handler_and_shows_its_page(
    states: OAuthStates, session: aiohttp.ClientSession,
) -> None:
    await states.save(
        SECRET_STATE, purpose="connect", guild_id=42, member_id=7, code_verifier="v" * 43, now=NOW,
    )
    handler = _handler(states)
    async with running_web(handler) as server:
        url = f"{server.base_url}/x/callback?state={SECRET_STATE}&code={SECRET_CODE}"
        async with session.get(url) as response:
            assert response.status == 200
            assert response.content_type == "text/html" and response.charset == "utf-8"
            body = await response.text()
        assert "<h1>Answer received</h1>" in body and "X answered for server 42." in body
        assert handler.seen == [CallbackQuery(SECRET_CODE, SECRET_STATE, None)]
        # The page never repeats what the address carried.
        assert SECRET_CODE not in body and SECRET_STATE not in body

        async with session.get(url) as response:
            assert response.status == 400 and "expired or was already used" in await response.text()
        async with session.get(f"{server.base_url}/x/callback?error=access_denied&state=x") as response:
            assert response.status == 200 and "You cancelled on X" in await response.text()


async def test_every_response_carries_the_protective_headers(
    states: OAuthStates, session: aiohttp.ClientSession,
) -> None:
    async with running_web(_handler(states)) as server:
        for path in ("/healthz", "/x/callback?state=a&code=b", "/x/callback", "/nowhere", "/"):
            async with session.get(server.base_url + path) as response:
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers.get(name) == value, (path, name)
        async with session.get(server.base_url + "/nowhere") as response:
            assert response.status == 404 and "<h1>Not found</h1>" in await response.text()
    assert "default-src 'none'" in SECURITY_HEADERS["Content-Security-Policy"]


async def test_only_a_plain_get_reaches_the_handler(
    states: OAuthStates, session: aiohttp.ClientSession,
) -> None:
    handler = _handler(states)
    async with running_web(handler) as server:
        url = f"{server.base_url}/x/callback?state={SECRET_STATE}&code={SECRET_CODE}"
        async with session.head(url) as response:
            assert response.status == 405
        async with session.post(url) as response:
            assert response.status == 405 and response.headers["Allow"] == "GET"
            assert "<h1>Not allowed</h1>" in await response.text()
    assert handler.seen == []


async def test_a_failing_handler_gives_a_plain_page_and_a_log_without_the_query(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    async def broken(query: CallbackQuery) -> CallbackPage:
        raise RuntimeError("the store is gone")

    async with running_web(broken) as server, session.get(server.base_url + SECRET_CALLBACK) as response:
        assert response.status == 500
        body = await response.text()
    assert "<h1>Something went wrong</h1>" in body and "nothing was saved" in body
    assert "the X callback handler failed" in caplog.text
    assert SECRET_CODE not in caplog.text and SECRET_STATE not in caplog.text


async def test_no_log_line_holds_the_callbacks_query(
    states: OAuthStates, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_web(_handler(states)) as server:
        async with session.get(server.base_url + SECRET_CALLBACK) as response:
            await response.read()
        denied = f"{server.base_url}/x/callback?error=access_denied&state={SECRET_STATE}"
        async with session.get(denied) as response:
            await response.read()
    access = [r.getMessage() for r in caplog.records if r.name == "likelens.web.access"]
    assert access == [
        m for m in access if re.fullmatch(r"GET /x/callback (200|400) \d+\.\d{3}s", m)
    ] and len(access) == 2
    assert SECRET_CODE not in caplog.text and SECRET_STATE not in caplog.text


def test_every_text_of_a_page_is_escaped() -> None:
    page = CallbackPage('<script>alert("t")</script>', "Connected @a&b to <b>Guild</b> \"x\" 'y'.")
    html = render_html(page)
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in html
    assert "Connected @a&amp;b to &lt;b&gt;Guild&lt;/b&gt; &quot;x&quot; &#x27;y&#x27;." in html
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert html.count("<h1>") == html.count("<p>") == html.count("<title>") == 1


async def test_health_checks_log_at_debug_so_a_docker_healthcheck_does_not_flood_the_log(
    states: OAuthStates, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="likelens.web.access")
    async with running_web(_handler(states)) as server:
        for path in ("/healthz", "/x/callback?error=access_denied&state=s"):
            async with session.get(server.base_url + path) as response:
                await response.read()
    levels = {r.getMessage().split()[1]: r.levelno for r in caplog.records if r.name == "likelens.web.access"}
    assert levels == {"/healthz": logging.DEBUG, "/x/callback": logging.INFO}
