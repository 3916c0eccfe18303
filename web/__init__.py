"""LikeLens' web server, inside the bot's event loop: /x/callback (OAuth 2.0 redirects) and /healthz."""

from web.app import CallbackHandler, make_app
from web.pages import CallbackPage, page_for_flow_error
from web.server import WebServer, WebServerError

__all__ = [
    "CallbackHandler", "CallbackPage", "WebServer", "WebServerError", "make_app", "page_for_flow_error",
]
