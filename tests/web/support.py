"""A started WebServer for tests, and a small callback handler built on the real state store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from accounts.oauth_flow import CallbackQuery, OAuthFlowError, check_callback
from store.oauth_states import OAuthStates
from web import CallbackHandler, CallbackPage, WebServer, make_app

UNKNOWN_STATE = CallbackPage(
    "Link expired",
    "This sign-in link has expired or was already used, so nothing was connected; run /x connect again.",
    400,
)


@dataclass
class Health:
    """A switch standing in for the gateway's state."""

    connected: bool = True

    def __call__(self) -> bool:
        return self.connected


@dataclass
class StateCheckingHandler:
    """Checks the callback, consumes its state from the store, and says so; records what it saw."""

    states: OAuthStates
    clock: Callable[[], float]
    seen: list[CallbackQuery] = field(default_factory=list)

    async def __call__(self, query: CallbackQuery) -> CallbackPage:
        self.seen.append(query)
        try:
            _code, state = check_callback(query)
        except OAuthFlowError as exc:
            return CallbackPage("Nothing connected", exc.message)
        pending = await self.states.consume(state, now=self.clock())
        if pending is None:
            return UNKNOWN_STATE
        sentence = f"X answered for server {pending.guild_id}. You can close this tab."
        return CallbackPage("Answer received", sentence)


@asynccontextmanager
async def running_web(
    handler: CallbackHandler, health: Callable[[], bool] | None = None, *, public_base_url: str | None = None,
) -> AsyncIterator[WebServer]:
    """A WebServer on 127.0.0.1 (free port) serving make_app(handler, health)."""
    server = WebServer(
        make_app(is_connected=health or Health(), handle_callback=handler), public_base_url=public_base_url,
    )
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()
