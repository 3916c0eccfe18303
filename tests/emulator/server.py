"""DiscordEmulator: the REST routes and gateway discord.py uses, on 127.0.0.1, recording everything.

As strict as Discord where LikeLens meets it: bodies are validated against Discord's request schema
(400/50035), every route is rate limited with Discord's headers and 429s (ratelimits.py), the
gateway drops, reconnects, invalidates and resumes with replay (gateway.py), interaction tokens
expire and reach only their own messages (interactions.py), ephemeral messages are seen only by
their user (channels.py). The clock (`emulator.clock`) moves when a test says so.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.emulator import builders, channels, interactions, pipeline
from tests.emulator.clock import EmulatorClock
from tests.emulator.gateway import GatewayControl, GatewaySession, gateway_handler
from tests.emulator.messages import new_message
from tests.emulator.ratelimits import RateLimiter, RateLimits
from tests.emulator.replies import DiscordError, json_response
from tests.emulator.sharding import ShardingPlan
from tests.emulator.state import (
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    RecordedRequest,
    User,
    new_snowflake,
)
from tests.emulator.world import World

API = pipeline.API
WEBHOOK_MESSAGE = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
Route = Callable[["DiscordEmulator", web.Request], Any]

__all__ = ["DiscordEmulator", "DiscordError", "json_response"]


class DiscordEmulator(World):
    """A fake Discord for one bot: one guild by default, with #general and #digests."""

    def __init__(
        self, token: str = "emulator-bot-token", *, callback_deadline: float | None = 3.0,
        bot_public: bool = False,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.token = token
        # The application's "Public Bot" switch: True lets anyone add the bot to their server.
        self.bot_public = bot_public
        # Discord drops an interaction whose callback comes later than this after dispatch.
        self.callback_deadline = callback_deadline
        self.clock = EmulatorClock()
        self.rate_limiter = RateLimiter(rate_limits or RateLimits.roomy(), self.clock)
        self.allowed_privileged_intents = 0
        self.application_id = new_snowflake()
        self.bot_user = User(self.application_id, "LikeLens", bot=True)
        self.owner = User(new_snowflake(), "owner")
        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[dict[str, Any]] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.resume_payloads: list[dict[str, Any]] = []
        # Sessions with a live socket now (a dropped session is resumable but not listed here).
        self.sessions: list[GatewaySession] = []
        self.gateway = GatewayControl(self)
        # GET /gateway/bot's recommended shards and session start limit; IDENTIFY's shard checks.
        self.sharding = ShardingPlan()
        self.ready_sent = asyncio.Event()
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[str, list[dict[str, Any]]] = {}
        self.messages: dict[str, Message] = {}
        self.interactions: dict[str, Interaction] = {}
        self.dm_channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {self.owner.id: self.owner}
        self.nonces: dict[tuple[str, str], tuple[float, str]] = {}
        self.faults: list[tuple[str, str, int, dict[str, Any], dict[str, str]]] = []
        self.stalls: list[tuple[str, str, asyncio.Event]] = []
        self.holds: list[tuple[str, str, asyncio.Event]] = []
        self.cuts: list[tuple[str, str]] = []
        # Users who do not accept DMs from the bot (sending to them answers 403, code 50007).
        self.closed_dms: set[str] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.guilds: list[Guild] = []
        self.guild = self.add_guild("LikeLens Test Server")

    def find_channel(self, channel_id: str) -> Channel | None:
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return self.dm_channels.get(channel_id)

    def post_as(self, member: Member, channel: Channel, content: str) -> Message:
        """A message member writes in channel (the bot, without message intents, gets no event)."""
        return new_message(self, channel.id, {"content": content}, {}, author=member.user)

    # ----------------------------------------------------------------- faults
    def fail_next(
        self, method: str, route: str, status: int, *, code: int = 0, message: str = "emulated failure",
        retry_after: float = 0.0,
    ) -> None:
        """Answer the next `method route` (a Discord path template) with this error instead.

        A 429 is Discord's (Via, retry_after, scope user): the same as `rate_limit_next`.
        """
        if status == 429:
            self.rate_limit_next(method, route, retry_after=retry_after)
            return
        self.faults.append((method.upper(), route, status, {"message": message, "code": code}, {}))

    def rate_limit_next(
        self, method: str, route: str, *, count: int = 1, retry_after: float = 0.0, scope: str = "user"
    ) -> None:
        """The next `count` requests to `method route` answer 429 (scope: user, shared or global)."""
        self.rate_limiter.force(method, route, count=count, retry_after=retry_after, scope=scope)

    def rate_limit_globally(self, *, count: int = 1, retry_after: float = 0.0) -> None:
        """The next `count` requests to any route answer 429 with the global flag (scope global)."""
        self.rate_limiter.force(count=count, retry_after=retry_after, scope="global")

    def stall_next(self, method: str, route: str) -> asyncio.Event:
        """Carry out the next `method route` but hold its answer until the returned event is set."""
        release = asyncio.Event()
        self.stalls.append((method.upper(), route, release))
        return release

    def cut_next(self, method: str, route: str) -> None:
        """Carry out the next `method route`, then break its connection: the answer never arrives."""
        self.cuts.append((method.upper(), route))

    def hold_next(self, method: str, route: str) -> asyncio.Event:
        """Record the next `method route` but carry it out only once the returned event is set (slow link)."""
        release = asyncio.Event()
        self.holds.append((method.upper(), route, release))
        return release

    # ----------------------------------------------------------------- gateway faults
    async def drop_gateway(self) -> None:
        """The bot's gateway socket dies without a close frame; it should RESUME (events are replayed)."""
        await self.gateway.drop()

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT: the bot must reconnect and RESUME."""
        await self.gateway.reconnect()

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION: resumable, the bot RESUMEs; else it must IDENTIFY anew (after 5 s)."""
        await self.gateway.invalidate(resumable=resumable)

    def hold_gateway(self) -> asyncio.Event:
        """Keep the bot from reconnecting (no HELLO) until the returned event is set."""
        return self.gateway.hold()

    async def wait_for_resumes(self, count: int, within: float = 10.0) -> None:
        """Until `count` RESUMEs in all have been answered with RESUMED."""
        await self.wait_until(lambda: self.gateway.resumes >= count, within, f"{count} RESUMED")

    async def wait_for_readies(self, count: int, within: float = 15.0) -> None:
        """Until `count` IDENTIFYs in all have been answered with READY (a re-identify waits 5 s)."""
        await self.wait_until(lambda: self.gateway.readies >= count, within, f"{count} READY")

    # ----------------------------------------------------------------- recorded data
    def requests_to(self, method: str, route: str) -> list[RecordedRequest]:
        """Recorded requests to a Discord path template, e.g. ("POST", "/channels/{channel_id}/messages")."""
        return [r for r in self.requests if r.method == method.upper() and r.route == route]

    def messages_in(self, channel: Channel | str, *, include_ephemeral: bool = True) -> list[Message]:
        """Every message stored in channel (ephemeral ones too unless told): the emulator's view."""
        channel_id = channel if isinstance(channel, str) else channel.id
        return [
            m for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

    def history(self, channel: Channel | str) -> list[Message]:
        """What everyone sees in channel (its history): no ephemeral message."""
        return self.messages_in(channel, include_ephemeral=False)

    def seen_by(self, member: Member | User, channel: Channel | str) -> list[Message]:
        """What member sees in channel: its history plus the ephemeral answers to their interactions."""
        user = member.user if isinstance(member, Member) else member
        return [m for m in self.messages_in(channel) if m.visible_to(user.id)]

    async def wait_until(
        self, predicate: Callable[[], bool], within: float = 5.0, what: str = ""
    ) -> None:
        """Wait until predicate() holds after some request or event; AssertionError on timeout."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), within)
            except TimeoutError:
                raise AssertionError(f"timed out after {within} s waiting for {what or predicate}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ----------------------------------------------------------------- gateway dispatch
    async def dispatch(self, event: str, data: Any) -> None:
        await self.gateway.dispatch(event, data)

    def commands_for(self, guild: Guild) -> list[dict[str, Any]]:
        """The commands a member of guild sees (guild commands first, as Discord merges them)."""
        return builders.commands_for(self, guild)

    def build_slash(
        self, command: str, options: dict[str, Any], *, member: Member, channel: Channel | None = None,
        guild: Guild | None = None, focused: str | None = None,
    ) -> Interaction:
        """An APPLICATION_COMMAND (or, with focused, AUTOCOMPLETE) interaction for "group sub"."""
        return builders.build_slash(
            self, command, options, member=member, channel=channel, guild=guild, focused=focused
        )

    def build_click(
        self, message: Message, custom_id: str, *, member: Member, values: list[str] | None = None
    ) -> Interaction:
        """A MESSAGE_COMPONENT interaction: member clicks custom_id (or picks values) on message."""
        return builders.build_click(self, message, custom_id, member=member, values=values)

    def build_message_command(self, name: str, message: Message, *, member: Member) -> Interaction:
        """A message command interaction: member picks Apps → name on message."""
        return builders.build_message_command(self, name, message, member=member)

    async def send_interaction(self, interaction: Interaction) -> None:
        interaction.created_at = self.clock.now()
        assert self.sessions, "no bot is connected to the gateway"
        await self.dispatch("INTERACTION_CREATE", interaction.payload)

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns the base URL."""
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._gateway)
        identity: list[tuple[str, str, Any]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_bot_gateway),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._callback),
        ]
        routes: list[tuple[str, str, Route]] = [
            ("GET", "/applications/{application_id}/commands", builders.get_commands),
            ("PUT", "/applications/{application_id}/commands", builders.put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", builders.get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", builders.put_commands),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", interactions.followup),
            ("GET", WEBHOOK_MESSAGE, interactions.get_message),
            ("PATCH", WEBHOOK_MESSAGE, interactions.edit_message),
            ("DELETE", WEBHOOK_MESSAGE, interactions.delete_message),
            ("GET", "/channels/{channel_id}", channels.get_channel),
            ("POST", "/channels/{channel_id}/messages", channels.create_message),
            ("GET", "/channels/{channel_id}/messages", channels.list_messages),
            ("GET", "/channels/{channel_id}/messages/{message_id}", channels.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", channels.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", channels.delete_message),
            ("POST", "/users/@me/channels", channels.create_dm),
        ]
        for method, route, handler in identity:
            app.router.add_route(method, API + route, handler)
        for method, route, function in routes:
            app.router.add_route(method, API + route, functools.partial(function, self))
        app.router.add_route("*", API + "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and hasattr(server, "sockets")
        self.port = int(server.sockets[0].getsockname()[1])
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        if self.gateway.gate is not None:
            self.gateway.gate.set()
        for session in list(self.sessions):
            if session.ws is not None:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        return await gateway_handler(self, request)

    @web.middleware
    async def _record(self, request: web.Request, handler: pipeline.Handler) -> web.StreamResponse:
        return await pipeline.record(self, request, handler)

    # ----------------------------------------------------------------- REST: identity
    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response({**self.bot_user.to_json(), "verified": True, "mfa_enabled": False})

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_response({
            "id": self.application_id, "name": "LikeLens", "description": "", "icon": None,
            "bot_public": self.bot_public, "bot_require_code_grant": False, "verify_key": "00" * 32,
            "owner": self.owner.to_json(), "flags": 0, "interactions_endpoint_url": None,
            "summary": "", "team": None, "rpc_origins": [],
        })

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": f"ws://127.0.0.1:{self.port}/"})

    async def _get_bot_gateway(self, request: web.Request) -> web.Response:
        return json_response(self.sharding.gateway_bot(f"ws://127.0.0.1:{self.port}/"))

    async def _callback(self, request: web.Request) -> web.Response:
        # A method, so a subclass can time callbacks (bench/harness.TimedEmulator).
        return await interactions.callback(self, request)

    async def _unknown_route(self, request: web.Request) -> web.Response:
        raise DiscordError(404, 0, f"404: Not Found (the emulator has no {request.method} {request.path})")
