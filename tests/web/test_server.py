"""web.server: starting on a free port, the base and callback URLs, a busy port, closing."""

from __future__ import annotations

import aiohttp
import pytest

from accounts.oauth_flow import CallbackQuery
from web import CallbackPage, WebServer, WebServerError, make_app
from web.server import _browser_host


async def _page(query: CallbackQuery) -> CallbackPage:
    return CallbackPage("Done", "Done.")


def _server(public_base_url: str | None = None) -> WebServer:
    app = make_app(is_connected=lambda: True, handle_callback=_page)
    return WebServer(app, public_base_url=public_base_url)


async def test_port_zero_listens_on_a_free_port_and_says_where() -> None:
    server = _server()
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.base_url
    await server.start("127.0.0.1", 0)
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.callback_url == f"http://127.0.0.1:{server.port}/x/callback"
        async with aiohttp.ClientSession() as session, session.get(server.base_url + "/healthz") as response:
            assert response.status == 200
    finally:
        await server.close()
    await server.close()  # idempotent
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"http://127.0.0.1:{server.port}/healthz")


async def test_the_public_base_url_is_what_browsers_are_sent_to() -> None:
    server = _server("https://likelens.example.org/")
    assert server.callback_url == "https://likelens.example.org/x/callback"
    await server.start("127.0.0.1", 0)
    try:
        assert server.base_url == "https://likelens.example.org"
    finally:
        await server.close()


async def test_a_busy_port_is_one_sentence_naming_the_settings() -> None:
    first, second = _server(), _server()
    await first.start("127.0.0.1", 0)
    try:
        with pytest.raises(WebServerError, match=f"127.0.0.1:{first.port}.*WEB_HOST and WEB_PORT") as caught:
            await second.start("127.0.0.1", first.port)
        assert caught.value.__cause__ is None
        # The failed server can still start elsewhere.
        await second.start("127.0.0.1", 0)
        assert second.port not in (0, first.port)
    finally:
        await second.close()
        await first.close()


async def test_a_started_server_cannot_start_twice() -> None:
    server = _server()
    await server.start("127.0.0.1", 0)
    try:
        with pytest.raises(RuntimeError, match="already started"):
            await server.start("127.0.0.1", 0)
    finally:
        await server.close()


@pytest.mark.parametrize(("host", "browser_host"), [
    ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("", "127.0.0.1"), ("127.0.0.1", "127.0.0.1"),
    ("::1", "[::1]"), ("localhost", "localhost"), ("192.168.1.20", "192.168.1.20"),
])
def test_a_wildcard_address_is_shown_as_the_loopback(host: str, browser_host: str) -> None:
    assert _browser_host(host) == browser_host
