"""The pages a person's browser sees: one title, one sentence, no script, nothing cached.

Every response of the web server gets the same protective headers (`SECURITY_HEADERS`): no caching
(a callback page follows a URL that carried a code), no referrer (the URL carried a state), and a
Content-Security-Policy that allows nothing at all, since the pages need no script, style or image.
"""

from __future__ import annotations

import html

from aiohttp import web

from accounts.callback_pages import CallbackPage, page_for_flow_error

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}


def render_html(page: CallbackPage) -> str:
    """The page as a small accessible HTML document; every text is escaped."""
    title, sentence = html.escape(page.title), html.escape(page.sentence)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{title} · LikeLens</title>\n"
        "</head>\n"
        "<body>\n"
        "<main>\n"
        f"<h1>{title}</h1>\n"
        f"<p>{sentence}</p>\n"
        "</main>\n"
        "</body>\n"
        "</html>\n"
    )


def page_response(page: CallbackPage) -> web.Response:
    """The page as an HTML response (the security headers are added to every response by the app)."""
    return web.Response(text=render_html(page), status=page.status, content_type="text/html", charset="utf-8")


NOT_FOUND = CallbackPage("Not found", "There is no page at this address.", 404)
METHOD_NOT_ALLOWED = CallbackPage("Not allowed", "This address only answers a browser's ordinary visit.", 405)
HANDLER_FAILED = CallbackPage(
    "Something went wrong",
    "LikeLens could not finish this on its side and nothing was saved; please start again from Discord.",
    500,
)

__all__ = ["HANDLER_FAILED", "METHOD_NOT_ALLOWED", "NOT_FOUND", "SECURITY_HEADERS", "CallbackPage",
           "page_for_flow_error", "page_response", "render_html"]
