"""Run the web application on the bot's event loop: start(host, port), base_url, close().

The access log names method, path (never the query string: a callback's carries a code and a
state), status and time. Port 0 picks a free port, read back once listening.
"""

from __future__ import annotations

import ipaddress
import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest

from accounts.oauth_flow import CALLBACK_PATH
from web.app import HEALTH_PATH

access_log = logging.getLogger("likelens.web.access")


class QuerylessAccessLogger(AbstractAccessLogger):
    """One line per request without its query string."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        # A container's health check polls every few seconds: those lines are for debugging only.
        level = logging.DEBUG if request.path == HEALTH_PATH else logging.INFO
        self.logger.log(level, "%s %s %s %.3fs", request.method, request.path, response.status, time)


class WebServerError(Exception):
    """The web server could not start; the message is one sentence for the operator."""


class WebServer:
    """An aiohttp.web application served by an AppRunner/TCPSite on the running event loop."""

    def __init__(self, app: web.Application, *, public_base_url: str | None = None) -> None:
        self._app = app
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (port 0: a free one; see `port`)."""
        if self._runner is not None:
            raise RuntimeError("the web server is already started")
        runner = web.AppRunner(self._app, access_log_class=QuerylessAccessLogger, access_log=access_log)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise WebServerError(
                f"LikeLens' web server could not listen on {host}:{port} ({exc.strerror or exc}); "
                "set WEB_HOST and WEB_PORT to a free address.",
            ) from None
        self._runner, self._host = runner, host
        self._port = int(runner.addresses[0][1])

    @property
    def port(self) -> int:
        """The port listened on (0 before start)."""
        return self._port

    @property
    def base_url(self) -> str:
        """How browsers reach this server: PUBLIC_BASE_URL, or the local address it listens on."""
        if self._public_base_url is not None:
            return self._public_base_url
        if self._runner is None:
            raise RuntimeError("the web server is not started and has no public base URL")
        return f"http://{_browser_host(self._host)}:{self._port}"

    @property
    def callback_url(self) -> str:
        """The OAuth 2.0 redirect URI to register at X: base_url + /x/callback."""
        return self.base_url + CALLBACK_PATH

    async def close(self) -> None:
        """Stop listening and finish the open requests (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _browser_host(host: str) -> str:
    # A wildcard address is not something a browser can visit: the loopback address is.
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    return f"[{host}]" if address.version == 6 else host
