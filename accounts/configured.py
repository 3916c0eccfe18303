"""The X account configured in the environment (OAuth 1.0a keys, or an OAuth 2.0 refresh token) or,
under `--sandbox`, the built-in sandbox's own: its X client, built once at start."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from config import Settings
from store.engine import Database
from store.oauth_tokens import current_refresh_token, save_refresh_token
from store.x_budgets import StoreBudgets
from xapi.auth import BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.caching import TTLCache
from xapi.client import XClient

if TYPE_CHECKING:
    from launcher import SecretRedactingFilter

log = logging.getLogger("likelens")

OAUTH2_TOKEN_NAME = "x_oauth2"
# Under --sandbox a newcomer's `/digest add … every:live` shows likes arriving (one every 20 s).
SIMULATED_LIKE_SECONDS = 20.0


@dataclass(frozen=True)
class ConfiguredX:
    """The configured account's client, where X calls go, and the sandbox's consent page (--sandbox)."""

    client: XClient
    base_url: str
    sandbox_authorize_url: str | None = None


async def configured_x(
    settings: Settings, session: aiohttp.ClientSession, conn: Database, *, cache: TTLCache[Any],
    clock: Callable[[], float], deadline: float, redactor: SecretRedactingFilter | None,
    resources: contextlib.AsyncExitStack, callback_url: str,
) -> ConfiguredX:
    """The configured account's XClient (no user context when none is configured: then only servers
    that connected their own account with /x connect are served), taking its rate budgets from the
    store every process shares. Closing is pushed onto resources."""
    base_url = settings.x_api_base_url
    user_auth: OAuth1UserAuth | OAuth2UserAuth | None = None
    bearer = BearerAuth(settings.x_bearer_token) if settings.x_bearer_token else None
    authorize_url = None
    if settings.sandbox:
        from xapi import sandbox  # noqa: PLC0415 (only sandbox runs need the server)

        # A bot runs for days: the sandbox keeps no answer bodies, so its memory stays flat.
        # Its own X app lets the bot's /x/callback in, so /x connect works end to end with no X access.
        server = sandbox.XSandbox(clock=clock, record_bodies=False, redirect_uris=[callback_url])
        base_url = await server.start()
        authorize_url = base_url + "/i/oauth2/authorize"
        resources.push_async_callback(server.close)
        server.start_simulated_likes(SIMULATED_LIKE_SECONDS)
        user_auth = OAuth1UserAuth(
            sandbox.SANDBOX_API_KEY, sandbox.SANDBOX_API_SECRET,
            sandbox.SANDBOX_ACCESS_TOKEN, sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
        )
        bearer = BearerAuth(sandbox.SANDBOX_BEARER_TOKEN)
        log.warning("=" * 72)
        log.warning("SANDBOX MODE: X data is SIMULATED by the built-in sandbox at %s", base_url)
        log.warning("Nothing is read from X; every embed's footer says so.")
        log.warning("Connect a simulated account to a server: /x connect, then choose one on the "
                    "sandbox's consent page (the bot's callback is %s)", callback_url)
        log.warning("=" * 72)
    elif (oauth1 := settings.oauth1_credentials()) is not None:
        user_auth = OAuth1UserAuth(*oauth1)
    elif (oauth2 := settings.oauth2_credentials()) is not None:
        user_auth = await _oauth2_auth(conn, *oauth2, redactor=redactor, resources=resources)
    ledger = StoreBudgets(conn)
    resources.push_async_callback(ledger.close)
    client = XClient(
        session, base_url=base_url, user_auth=user_auth, bearer=bearer, field_naming=settings.x_field_naming,
        clock=clock, deadline=deadline, cache=cache, budget_ledger=ledger,
    )
    return ConfiguredX(client, base_url, authorize_url)


async def _oauth2_auth(
    conn: Database, client_id: str, client_secret: str | None, configured_token: str, *,
    redactor: SecretRedactingFilter | None, resources: contextlib.AsyncExitStack,
) -> OAuth2UserAuth:
    # The stored token descends from the configured one by rotation; the configured one may be spent.
    refresh_token = await current_refresh_token(conn, OAUTH2_TOKEN_NAME, configured_token)
    if redactor is not None:
        redactor.add(refresh_token)

    async def persist_rotated(new_token: str) -> None:
        if redactor is not None:
            redactor.add(new_token)
        await save_refresh_token(conn, OAUTH2_TOKEN_NAME, configured_token, new_token)

    auth = OAuth2UserAuth(client_id, client_secret, refresh_token, on_rotate=persist_rotated)
    # The budget and cache key: the configured token every rotation descends from, the same in every
    # process (one started after a rotation reads a newer token, yet spends from the same windows).
    root = hashlib.sha256(f"{client_id}|{configured_token}".encode()).hexdigest()[:16]
    auth.identity = f"oauth2_user:{root}"
    # Before the store closes: a rotated token still unsaved gets one last attempt.
    resources.push_async_callback(auth.aclose)
    if redactor is not None:
        # Access tokens come and go every two hours; the redactor reads the live ones.
        redactor.follow(lambda: auth.secrets)
    return auth
