"""The aiohttp.web application: `GET /healthz` (the verdict, then one line per shard of this
process), `GET /x/callback` and (when given) `GET /metrics`.

The callback's work (consume the state, exchange the code, store, edit the Discord answer) is the
caller's `CallbackHandler`; this module reads the query, hands it over and renders the page the
handler returns. A handler that raises gets a generic page and a log line without the query.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from aiohttp import web

from accounts.oauth_flow import CALLBACK_PATH, CallbackQuery
from web.gateway_health import ShardState
from web.pages import (
    HANDLER_FAILED,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    SECURITY_HEADERS,
    CallbackPage,
    page_response,
)

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
# Prometheus' text format 0.0.4 (web/metrics.py renders it; kept here so the app needs no prometheus_client).
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class CallbackHandler(Protocol):
    """Finishes one OAuth 2.0 redirect and says, in a page, what happened."""

    async def __call__(self, query: CallbackQuery) -> CallbackPage: ...


def make_app(
    *, is_connected: Callable[[], bool], handle_callback: CallbackHandler,
    metrics: Callable[[], Awaitable[bytes]] | None = None,
    shards: Callable[[], Iterable[ShardState]] | None = None,
) -> web.Application:
    """The web application; `is_connected()` says whether the Discord gateway is connected now,
    `metrics()` renders GET /metrics (None: no such route), `shards()` the lines /healthz adds
    under its verdict, one per shard of this process (None: the verdict alone)."""
    app = web.Application(middlewares=[_error_pages])
    app.on_response_prepare.append(_add_security_headers)

    async def healthz(request: web.Request) -> web.Response:
        details = "".join(f"{shard.line()}\n" for shard in shards()) if shards is not None else ""
        if is_connected():
            return web.Response(text=f"ok: connected to Discord\n{details}")
        return web.Response(text=f"unavailable: not connected to Discord\n{details}", status=503)

    async def callback(request: web.Request) -> web.Response:
        query = CallbackQuery.from_mapping(request.query)
        try:
            page = await handle_callback(query)
        except Exception:
            # The traceback, never the query: it carries the code and the state.
            log.exception("the X callback handler failed")
            page = HANDLER_FAILED
        return page_response(page)

    async def scrape(request: web.Request) -> web.Response:
        assert metrics is not None
        return web.Response(body=await metrics(), headers={"Content-Type": METRICS_CONTENT_TYPE})

    app.router.add_get(HEALTH_PATH, healthz)
    if metrics is not None:
        app.router.add_get(METRICS_PATH, scrape)
    # No HEAD: a link preview's HEAD must not consume a state meant for the person's browser.
    app.router.add_get(CALLBACK_PATH, callback, allow_head=False)
    return app


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _error_pages(request: web.Request, handler: _Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return page_response(NOT_FOUND)
    except web.HTTPMethodNotAllowed as exc:
        response = page_response(METHOD_NOT_ALLOWED)
        response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return response
