"""`python -m xapi.sandbox --port 8088`: serve the X sandbox until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from xapi.sandbox.auth import (
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
)
from xapi.sandbox.consent_page import AUTHORIZE_PATH
from xapi.sandbox.data import OWNER_ID, OWNER_USERNAME
from xapi.sandbox.oauth2_tokens import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN
from xapi.sandbox.server import XSandbox

log = logging.getLogger("xapi.sandbox")


# The bot's own callback with its default PUBLIC_BASE_URL, so `/x connect` works against it as is.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8080/x/callback"


def _credentials_line(base_url: str) -> str:
    return (
        f"X sandbox at {base_url}: X_API_BASE_URL={base_url} X_AUTHORIZE_URL={base_url}{AUTHORIZE_PATH} "
        f"X_API_KEY={SANDBOX_API_KEY} "
        f"X_API_SECRET={SANDBOX_API_SECRET} X_ACCESS_TOKEN={SANDBOX_ACCESS_TOKEN} "
        f"X_ACCESS_TOKEN_SECRET={SANDBOX_ACCESS_TOKEN_SECRET} X_BEARER_TOKEN={SANDBOX_BEARER_TOKEN} "
        f"(or X_CLIENT_ID={SANDBOX_CLIENT_ID} X_CLIENT_SECRET={SANDBOX_CLIENT_SECRET} "
        f"X_OAUTH2_REFRESH_TOKEN={SANDBOX_REFRESH_TOKEN}); owner @{OWNER_USERNAME} id {OWNER_ID}"
    )


async def _serve_forever(
    host: str, port: int, rate_limit: int, redirect_uris: list[str], like_every: float | None = None,
) -> None:
    sandbox = XSandbox(rate_limit=rate_limit, record_bodies=False, redirect_uris=redirect_uris)
    base_url = await sandbox.start(host, port)
    if like_every:
        sandbox.start_simulated_likes(like_every)
        log.info("A simulated like on one of @%s's posts every %g s (like.create events on the stream)",
                 OWNER_USERNAME, like_every)
    # Sandbox credentials are public fixtures, not secrets: printing them is the point.
    log.info("%s", _credentials_line(base_url))
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.close()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(description="Local X API v2 sandbox for LikeLens")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--rate-limit", type=int, default=75, help="requests per 15 minutes per endpoint")
    parser.add_argument(
        "--redirect-uri", action="append", dest="redirect_uris", metavar="URL",
        help=f"a callback URL of the sandbox's OAuth 2.0 app (repeatable; default {DEFAULT_REDIRECT_URI})",
    )
    parser.add_argument(
        "--simulated-likes", type=float, default=None, metavar="SECONDS", dest="like_every",
        help="add a liker to one of the owner's posts every SECONDS (live likes demo)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.host, args.port, args.rate_limit,
                                   args.redirect_uris or [DEFAULT_REDIRECT_URI], args.like_every))


if __name__ == "__main__":
    main()
