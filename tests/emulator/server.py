"""DiscordEmulator: the REST routes and gateway discord.py uses, on 127.0.0.1, recording everything.

Every JSON body the bot sends to a route in tests/spec/discord-api-subset.json is validated against
Discord's request schema and refused with 400 (code 50035) as Discord would; so is a message whose
embeds total more than 6000 characters (a limit the schema cannot express).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from aiohttp import BodyPartReader, web

from tests.emulator import schema
from tests.emulator.gateway import GatewaySession, gateway_handler
from tests.emulator.state import (
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    Overwrite,
    RecordedRequest,
    Role,
    User,
    iso_now,
    new_snowflake,
)

API = "/api/v10"
RECORDED = web.RequestKey("recorded", RecordedRequest)
WEBHOOK_MESSAGE = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NONCE_WINDOW_SECONDS = 300.0
EPHEMERAL, LOADING = 64, 128


class DiscordError(Exception):
    """An error answer in Discord's shape."""

    def __init__(self, status: int, code: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.body = status, code, {"message": message, "code": code, **(extra or {})}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly `application/json`: with `; charset=utf-8` discord.py reads the body as text.
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json", headers=headers
    )


class DiscordEmulator:
    """A fake Discord for one bot: one guild by default, with #general and #digests."""

    def __init__(
        self, token: str = "emulator-bot-token", *, callback_deadline: float | None = 3.0,
        bot_public: bool = False,
    ) -> None:
        self.token = token
        # The application's "Public Bot" switch: True lets anyone add the bot to their server.
        self.bot_public = bot_public
        # Discord drops an interaction whose callback comes later than this after dispatch.
        self.callback_deadline = callback_deadline
        self.allowed_privileged_intents = 0
        self.application_id = new_snowflake()
        self.bot_user = User(self.application_id, "LikeLens", bot=True)
        self.owner = User(new_snowflake(), "owner")
        self.requests: list[RecordedRequest] = []
        self.gateway_frames: list[dict[str, Any]] = []
        self.identify_payloads: list[dict[str, Any]] = []
        self.sessions: list[GatewaySession] = []
        self.ready_sent = asyncio.Event()
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[str, list[dict[str, Any]]] = {}
        self.messages: dict[str, Message] = {}
        self.interactions: dict[str, Interaction] = {}
        self.dm_channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {self.owner.id: self.owner}
        self._nonces: dict[tuple[str, str], tuple[float, str]] = {}
        self._faults: list[tuple[str, str, int, dict[str, Any], dict[str, str]]] = []
        self._stalls: list[tuple[str, str, asyncio.Event]] = []
        self._holds: list[tuple[str, str, asyncio.Event]] = []
        # Users who do not accept DMs from the bot (sending to them answers 403, code 50007).
        self.closed_dms: set[str] = set()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.guilds: list[Guild] = []
        self.guild = self.add_guild("LikeLens Test Server")

    # ----------------------------------------------------------------- world building
    def add_guild(self, name: str) -> Guild:
        guild_id = new_snowflake()
        bot_role = Role(new_snowflake(), "LikeLens", discord.Permissions(
            view_channel=True, send_messages=True, embed_links=True, attach_files=True,
            read_message_history=True, use_application_commands=True,
        ), position=1)
        everyone = Role(guild_id, "@everyone", discord.Permissions(view_channel=True, send_messages=True))
        guild = Guild(guild_id, name, self.owner.id, roles=[everyone, bot_role])
        guild.members.append(Member(self.bot_user, roles=[bot_role.id]))
        guild.members.append(Member(self.owner, permissions=discord.Permissions.all()))
        for position, channel_name in enumerate(("general", "digests")):
            channel = Channel(new_snowflake(), channel_name, guild_id=guild_id, position=position)
            guild.channels.append(channel)
        self.guilds.append(guild)
        return guild

    def add_channel(
        self, name: str, *, guild: Guild | None = None, bot_deny: discord.Permissions | None = None
    ) -> Channel:
        """A text channel (before the bot connects); bot_deny: permissions the bot lacks there."""
        guild = guild or self.guild
        channel = Channel(new_snowflake(), name, guild_id=guild.id, position=len(guild.channels))
        if bot_deny is not None:
            channel.overwrites.append(Overwrite(self.bot_user.id, 1, deny=bot_deny))
        guild.channels.append(channel)
        return channel

    async def set_bot_deny(self, channel: Channel, deny: discord.Permissions) -> None:
        """Change the bot's overwrite in channel now (CHANNEL_UPDATE is dispatched)."""
        channel.overwrites = [o for o in channel.overwrites if o.id != self.bot_user.id]
        channel.overwrites.append(Overwrite(self.bot_user.id, 1, deny=deny))
        await self.dispatch("CHANNEL_UPDATE", channel.to_json())

    async def delete_channel(self, channel: Channel) -> None:
        """Delete channel now (CHANNEL_DELETE is dispatched; later sends get 404 Unknown Channel)."""
        for guild in self.guilds:
            if channel in guild.channels:
                guild.channels.remove(channel)
        await self.dispatch("CHANNEL_DELETE", channel.to_json())

    async def remove_bot_from(self, guild: Guild) -> None:
        """The bot is kicked from guild now (GUILD_DELETE without `unavailable`); it is gone on reconnect."""
        self.guilds.remove(guild)
        await self.dispatch("GUILD_DELETE", {"id": guild.id})

    async def guild_outage(self, guild: Guild) -> None:
        """guild becomes unavailable now (GUILD_DELETE with `unavailable: true`, as in a Discord outage)."""
        await self.dispatch("GUILD_DELETE", {"id": guild.id, "unavailable": True})

    def member(
        self, name: str = "moderator", permissions: discord.Permissions | None = None, *,
        guild: Guild | None = None,
    ) -> Member:
        """A (new) human member of guild; default: can use both command groups."""
        guild = guild or self.guild
        user = User(new_snowflake(), name)
        self.users[user.id] = user
        perms = permissions if permissions is not None else discord.Permissions(
            view_channel=True, send_messages=True, manage_messages=True, manage_guild=True,
            use_application_commands=True,
        )
        member = Member(user, permissions=perms)
        guild.members.append(member)
        return member

    def channel(self, name_or_id: str, guild: Guild | None = None) -> Channel:
        return (guild or self.guild).channel(name_or_id)

    def fail_next(
        self, method: str, route: str, status: int, *, code: int = 0, message: str = "emulated failure",
        retry_after: float = 0.0,
    ) -> None:
        """Answer the next `method route` (a Discord path template) with this error instead."""
        body: dict[str, Any] = {"message": message, "code": code}
        headers: dict[str, str] = {}
        if status == 429:
            # discord.py needs `Via` and `retry_after` to treat a 429 as Discord's and retry.
            body.update(retry_after=retry_after, **{"global": False})
            headers = {"Via": "1.1 google", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset-After": str(retry_after)}
        self._faults.append((method.upper(), route, status, body, headers))

    def stall_next(self, method: str, route: str) -> asyncio.Event:
        """Carry out the next `method route` but hold its answer until the returned event is set."""
        release = asyncio.Event()
        self._stalls.append((method.upper(), route, release))
        return release

    def hold_next(self, method: str, route: str) -> asyncio.Event:
        """Record the next `method route` but carry it out only once the returned event is set (slow link)."""
        release = asyncio.Event()
        self._holds.append((method.upper(), route, release))
        return release

    # ----------------------------------------------------------------- recorded data
    def requests_to(self, method: str, route: str) -> list[RecordedRequest]:
        """Recorded requests to a Discord path template, e.g. ("POST", "/channels/{channel_id}/messages")."""
        return [r for r in self.requests if r.method == method.upper() and r.route == route]

    def messages_in(self, channel: Channel | str, *, include_ephemeral: bool = True) -> list[Message]:
        channel_id = channel if isinstance(channel, str) else channel.id
        return [
            m for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and (include_ephemeral or not m.ephemeral)
        ]

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
        for session in list(self.sessions):
            if not session.ws.closed:
                await session.dispatch(event, data)

    def _base_interaction(self, type_: int, member: Member, channel: Channel, guild: Guild) -> Interaction:
        interaction_id = new_snowflake()
        token = f"emu-interaction-token-{interaction_id}"
        bot_member = guild.member(self.bot_user.id)
        assert bot_member is not None
        payload: dict[str, Any] = {
            "id": interaction_id, "application_id": self.application_id, "type": type_, "token": token,
            "version": 1, "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
            "app_permissions": str(guild.permissions_in(bot_member, channel).value),
            "attachment_size_limit": 26214400, "guild_id": guild.id,
            "guild": {"id": guild.id, "locale": "en-US", "features": []},
            "channel_id": channel.id, "channel": channel.to_json(),
            "member": member.to_json(with_permissions=True), "context": 0,
            "authorizing_integration_owners": {"0": guild.id},
        }
        interaction = Interaction(interaction_id, token, type_, payload, channel.id)
        self.interactions[interaction_id] = interaction
        return interaction

    def commands_for(self, guild: Guild) -> list[dict[str, Any]]:
        """The commands a member of guild sees (guild commands first, as Discord merges them)."""
        return [*self.guild_commands.get(guild.id, []), *self.global_commands]

    def build_slash(
        self, command: str, options: dict[str, Any], *, member: Member, channel: Channel | None = None,
        guild: Guild | None = None, focused: str | None = None,
    ) -> Interaction:
        """An APPLICATION_COMMAND (or, with focused, AUTOCOMPLETE) interaction for "group sub"."""
        guild = guild or self.guild
        channel = channel or guild.channels[0]
        name, _, sub = command.partition(" ")
        found = next((c for c in self.commands_for(guild) if c["name"] == name), None)
        if found is None:
            synced = [c["name"] for c in self.commands_for(guild)]
            raise LookupError(f"/{name} is not synced (synced: {synced})")
        required = found.get("default_member_permissions")
        perms = member.permissions.value
        admin = perms & discord.Permissions.administrator.flag
        if required is not None and not admin and int(required) & perms != int(required):
            raise PermissionError(f"Discord does not show /{name} to a member without {required}")
        defined = found.get("options") or []
        resolved: dict[str, Any] = {}
        if sub:
            sub_def = next((o for o in defined if o["name"] == sub and o["type"] == 1), None)
            if sub_def is None:
                raise LookupError(f"/{name} has no subcommand {sub}")
            values = self._option_values(
                sub_def.get("options") or [], options, member=member, guild=guild, resolved=resolved,
                focused=focused,
            )
            data_options = [{"name": sub, "type": 1, "options": values}]
        else:
            data_options = self._option_values(
                defined, options, member=member, guild=guild, resolved=resolved, focused=focused
            )
        interaction = self._base_interaction(4 if focused else 2, member, channel, guild)
        interaction.payload["data"] = {
            "id": found["id"], "name": name, "type": 1, "options": data_options, "guild_id": guild.id,
            **({"resolved": resolved} if resolved else {}),
        }
        return interaction

    def _option_values(
        self, definitions: list[dict[str, Any]], given: dict[str, Any], *, member: Member, guild: Guild,
        resolved: dict[str, Any], focused: str | None,
    ) -> list[dict[str, Any]]:
        by_name = {d["name"]: d for d in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise LookupError(f"no option(s) {sorted(unknown)}; defined: {sorted(by_name)}")
        values = []
        for definition in definitions:
            name = definition["name"]
            if name not in given:
                if definition.get("required") and name != focused:
                    raise ValueError(f"option {name} is required")
                continue
            value = given[name]
            kind = definition["type"]
            if name == focused:  # Discord sends what the user has typed so far, as a string
                value = str(value)
            elif kind == 7:  # channel: the id, plus resolved data with the invoker's permissions there
                channel = value if isinstance(value, Channel) else guild.channel(str(value))
                resolved.setdefault("channels", {})[channel.id] = {
                    **channel.to_json(), "permissions": str(member.permissions.value)
                }
                value = channel.id
            elif kind == 4:
                value = int(value)
            elif kind == 5:
                value = bool(value)
            elif kind == 3:
                value = str(value)
            choices = definition.get("choices")
            if choices and name != focused and value not in [c["value"] for c in choices]:
                raise ValueError(f"{value!r} is not a choice of {name}: {[c['value'] for c in choices]}")
            option: dict[str, Any] = {"name": name, "type": kind, "value": value}
            if name == focused:
                option["focused"] = True
            values.append(option)
        return values

    def build_click(
        self, message: Message, custom_id: str, *, member: Member, values: list[str] | None = None
    ) -> Interaction:
        """A MESSAGE_COMPONENT interaction: member clicks custom_id (or picks values) on message."""
        component = message.buttons.get(custom_id)
        if component is None:
            raise LookupError(f"message {message.id} has no component {custom_id!r}: {list(message.buttons)}")
        if component.get("disabled"):
            raise PermissionError(f"{custom_id!r} is disabled: Discord would not send the click")
        channel = next(c for g in self.guilds for c in g.channels if c.id == message.channel_id)
        guild = next(g for g in self.guilds if channel in g.channels)
        interaction = self._base_interaction(3, member, channel, guild)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        interaction.payload["data"] = data
        interaction.payload["message"] = message.data
        interaction.source_message_id = message.id
        return interaction

    async def send_interaction(self, interaction: Interaction) -> None:
        interaction.created_at = time.monotonic()
        assert self.sessions, "no bot is connected to the gateway"
        await self.dispatch("INTERACTION_CREATE", interaction.payload)

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> str:
        """Serve on 127.0.0.1 (a free port); returns the base URL."""
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/", self._gateway)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/applications/{application_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/commands", self._put_commands),
            ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self._callback),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._followup),
            ("GET", WEBHOOK_MESSAGE, self._get_webhook_message),
            ("PATCH", WEBHOOK_MESSAGE, self._edit_webhook_message),
            ("DELETE", WEBHOOK_MESSAGE, self._delete_webhook_message),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages", self._list_messages),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("POST", "/users/@me/channels", self._create_dm),
        ]
        for method, route, handler in routes:
            app.router.add_route(method, API + route, handler)
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
        for session in list(self.sessions):
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

    # ----------------------------------------------------------------- recording + validation
    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical.removeprefix(API) if resource is not None else request.path
        body, files = await _read_body(request)
        recorded = RecordedRequest(
            request.method, request.path.removeprefix(API), route, dict(request.query), body, files,
            dict(request.headers),
        )
        self.requests.append(recorded)
        try:
            response = await self._answer(request, handler, recorded)
        except DiscordError as error:
            response = json_response(error.body, error.status)
            recorded.response = error.body
        recorded.status = response.status
        await self._notify()
        return response

    async def _answer(
        self, request: web.Request, handler: Handler, recorded: RecordedRequest
    ) -> web.StreamResponse:
        for hold in self._holds:
            if hold[0] == recorded.method and hold[1] == recorded.route:
                self._holds.remove(hold)
                await self._notify()
                await hold[2].wait()
                break
        for fault in self._faults:
            if fault[0] == recorded.method and fault[1] == recorded.route:
                self._faults.remove(fault)
                recorded.response = fault[3]
                return json_response(fault[3], fault[2], fault[4])
        unauthenticated = recorded.route.startswith(("/interactions/", "/webhooks/"))
        if not unauthenticated and request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordError(401, 0, "401: Unauthorized")
        if recorded.json is not None:
            errors = schema.body_errors(recorded.route, recorded.method, recorded.json)
            if errors:
                raise DiscordError(400, 50035, "Invalid Form Body", schema.discord_error_body(errors))
            if (too_big := schema.embed_rule_error(recorded.json)) is not None:
                raise DiscordError(400, 50035, "Invalid Form Body", too_big)
        request[RECORDED] = recorded
        response = await handler(request)
        for stall in self._stalls:
            if stall[0] == recorded.method and stall[1] == recorded.route:
                # Discord did the work; the answer never reaches the bot (it crashed, or the link broke).
                self._stalls.remove(stall)
                await self._notify()
                await stall[2].wait()
                break
        return response

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
        return json_response({
            "url": f"ws://127.0.0.1:{self.port}/", "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        })

    async def _unknown_route(self, request: web.Request) -> web.Response:
        raise DiscordError(404, 0, f"404: Not Found (the emulator has no {request.method} {request.path})")

    # ----------------------------------------------------------------- REST: commands
    async def _get_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info.get("guild_id")
        return json_response(self.guild_commands.get(guild_id, []) if guild_id else self.global_commands)

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info.get("guild_id")
        body = request[RECORDED].json or []
        stored = [
            {**command, "id": new_snowflake(), "application_id": self.application_id,
             "version": new_snowflake(), "type": command.get("type") or 1,
             "description": command.get("description") or "",
             **({"guild_id": guild_id} if guild_id else {})}
            for command in body
        ]
        if guild_id:
            self.guild_commands[guild_id] = stored
        else:
            self.global_commands = stored
        return json_response(stored)

    # ----------------------------------------------------------------- REST: interactions
    def _interaction_by_token(self, token: str) -> Interaction:
        found = next((i for i in self.interactions.values() if i.token == token), None)
        if found is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        return found

    def _new_message(
        self, channel_id: str, payload: dict[str, Any], files: dict[str, bytes], *,
        interaction: Interaction | None = None, flags: int = 0,
    ) -> Message:
        message_id = new_snowflake()
        channel = self._find_channel(channel_id)
        data: dict[str, Any] = {
            "id": message_id, "channel_id": channel_id, "author": self.bot_user.to_json(),
            "content": payload.get("content") or "", "timestamp": iso_now(), "edited_timestamp": None,
            "tts": bool(payload.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": _attachments(files), "embeds": _embeds(payload.get("embeds")),
            "components": payload.get("components") or [], "pinned": False, "type": 0,
            "flags": flags | int(payload.get("flags") or 0),
        }
        if channel is not None and channel.guild_id:
            data["guild_id"] = channel.guild_id
        if payload.get("nonce") is not None:
            data["nonce"] = payload["nonce"]
        if interaction is not None:
            data.update(
                type=20 if interaction.type == 2 else 19, application_id=self.application_id,
                webhook_id=self.application_id,
                interaction_metadata={"id": interaction.id, "type": interaction.type,
                                      "user": interaction.payload["member"]["user"]},
            )
        message = Message(data, files, interaction_id=interaction.id if interaction else None)
        self.messages[message_id] = message
        return message

    async def _callback(self, request: web.Request) -> web.Response:
        recorded: RecordedRequest = request[RECORDED]
        interaction = self.interactions.get(request.match_info["interaction_id"])
        if interaction is None or interaction.token != request.match_info["interaction_token"]:
            raise DiscordError(404, 10062, "Unknown interaction")
        late = self.callback_deadline is not None and (
            time.monotonic() - interaction.created_at > self.callback_deadline
        )
        if late:
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        body = recorded.json or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        message: Message | None = None
        if kind == 4:
            message = self._new_message(interaction.channel_id, data, recorded.files, interaction=interaction)
        elif kind == 5:
            message = self._new_message(
                interaction.channel_id, {}, {}, interaction=interaction,
                flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
            )
        elif kind in (6, 7):
            if interaction.source_message_id is None:
                raise DiscordError(400, 50035, "Invalid Form Body: update types need a component interaction")
            message = self.messages[interaction.source_message_id]
            if kind == 7:
                _apply_edit(message, data, recorded.files)
        interaction.callback = body
        if message is not None:
            interaction.response_message_id = message.id
        if "with_response" not in request.query:
            return web.Response(status=204)
        return json_response({
            "interaction": {
                "id": interaction.id, "type": interaction.type, "activity_instance_id": None,
                "response_message_id": message.id if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind, **({"message": message.data} if message else {})},
        })

    def _webhook_message(self, request: web.Request) -> tuple[Interaction, Message]:
        interaction = self._interaction_by_token(request.match_info["webhook_token"])
        message_id = request.match_info["message_id"]
        if message_id == "@original":
            message_id = interaction.response_message_id or ""
        message = self.messages.get(message_id)
        if message is None or message.deleted:
            raise DiscordError(404, 10008, "Unknown Message")
        return interaction, message

    async def _followup(self, request: web.Request) -> web.Response:
        recorded: RecordedRequest = request[RECORDED]
        interaction = self._interaction_by_token(request.match_info["webhook_token"])
        if not interaction.acknowledged:
            raise DiscordError(404, 10015, "Unknown Webhook")
        message = self._new_message(
            interaction.channel_id, recorded.json or {}, recorded.files, interaction=interaction
        )
        interaction.followup_ids.append(message.id)
        if request.query.get("wait") in ("1", "true"):
            return json_response(message.data)
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        return json_response(self._webhook_message(request)[1].data)

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        recorded: RecordedRequest = request[RECORDED]
        _, message = self._webhook_message(request)
        _apply_edit(message, recorded.json or {}, recorded.files)
        return json_response(message.data)

    async def _delete_webhook_message(self, request: web.Request) -> web.Response:
        self._webhook_message(request)[1].deleted = True
        return web.Response(status=204)

    # ----------------------------------------------------------------- REST: channels, DMs
    def _find_channel(self, channel_id: str) -> Channel | None:
        for guild in self.guilds:
            for channel in guild.channels:
                if channel.id == channel_id:
                    return channel
        return self.dm_channels.get(channel_id)

    def _channel_or_404(self, channel_id: str) -> Channel:
        channel = self._find_channel(channel_id)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _require(self, channel: Channel, needed: discord.Permissions) -> None:
        if channel.guild_id is None:
            return
        guild = next(g for g in self.guilds if g.id == channel.guild_id)
        bot_member = guild.member(self.bot_user.id)
        assert bot_member is not None
        have = guild.permissions_in(bot_member, channel)
        if not have.view_channel:
            raise DiscordError(403, 50001, "Missing Access")
        if needed.value & ~have.value:
            raise DiscordError(403, 50013, "Missing Permissions")

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel_or_404(request.match_info["channel_id"]).to_json())

    async def _create_message(self, request: web.Request) -> web.Response:
        recorded: RecordedRequest = request[RECORDED]
        channel = self._channel_or_404(request.match_info["channel_id"])
        body = recorded.json or {}
        needed = discord.Permissions(send_messages=True)
        needed.embed_links = bool(body.get("embeds"))
        needed.attach_files = bool(recorded.files)
        self._require(channel, needed)
        if channel.type == 1 and channel.recipients and channel.recipients[0].id in self.closed_dms:
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # Same author + nonce within minutes: Discord returns the first message, creates none.
            seen = self._nonces.get((self.bot_user.id, str(nonce)))
            if seen is not None and time.monotonic() - seen[0] < NONCE_WINDOW_SECONDS:
                first = self.messages.get(seen[1])
                if first is not None:
                    return json_response(first.data)
        message = self._new_message(channel.id, body, recorded.files)
        if nonce is not None:
            self._nonces[(self.bot_user.id, str(nonce))] = (time.monotonic(), message.id)
        return json_response(message.data)

    async def _list_messages(self, request: web.Request) -> web.Response:
        """Channel history, newest first (`limit`, default 50, at most 100), as Discord answers it."""
        channel = self._channel_or_404(request.match_info["channel_id"])
        self._require(channel, discord.Permissions(read_message_history=True))
        limit = max(1, min(100, int(request.query.get("limit") or 50)))
        before = int(request.query.get("before") or 0)
        found = [
            m for m in self.messages.values()
            if m.channel_id == channel.id and not m.deleted and not m.ephemeral
            and (not before or int(m.id) < before)
        ]
        found.sort(key=lambda m: int(m.id), reverse=True)
        # Discord leaves `nonce` out of history: only the create answer and MESSAGE_CREATE carry it.
        return json_response([{k: v for k, v in m.data.items() if k != "nonce"} for m in found[:limit]])

    def _channel_message(self, request: web.Request) -> Message:
        self._channel_or_404(request.match_info["channel_id"])
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message.deleted or message.channel_id != request.match_info["channel_id"]:
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    async def _get_message(self, request: web.Request) -> web.Response:
        return json_response(self._channel_message(request).data)

    async def _edit_message(self, request: web.Request) -> web.Response:
        recorded: RecordedRequest = request[RECORDED]
        message = self._channel_message(request)
        _apply_edit(message, recorded.json or {}, recorded.files)
        return json_response(message.data)

    async def _delete_message(self, request: web.Request) -> web.Response:
        self._channel_message(request).deleted = True
        return web.Response(status=204)

    async def _create_dm(self, request: web.Request) -> web.Response:
        recipient_id = str((request[RECORDED].json or {}).get("recipient_id"))
        user = self.users.get(recipient_id)
        if user is None:
            raise DiscordError(400, 50033, "Invalid Recipient(s)")
        existing = next((c for c in self.dm_channels.values() if c.recipients[0].id == user.id), None)
        channel = existing or Channel(new_snowflake(), "", type=1, recipients=[user])
        self.dm_channels[channel.id] = channel
        return json_response(channel.to_json())


def _embeds(embeds: Any) -> list[dict[str, Any]]:
    return [{"type": "rich", **e} for e in embeds or []]


def _attachments(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        {"id": new_snowflake(), "filename": name, "size": len(content),
         "url": f"https://cdn.discordapp.invalid/{name}", "proxy_url": f"https://media.discordapp.invalid/{name}",
         "content_type": "text/csv" if name.endswith(".csv") else "application/octet-stream"}
        for name, content in files.items()
    ]


def _apply_edit(message: Message, payload: dict[str, Any], files: dict[str, bytes]) -> None:
    """Apply an edit: fields present replace the old ones; new files are attached."""
    data = message.data
    for key in ("content", "components"):
        if key in payload:
            data[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
    if "embeds" in payload:
        data["embeds"] = _embeds(payload["embeds"])
    if "attachments" in payload or files:
        keep = {str(a.get("id")) for a in payload.get("attachments") or []}
        kept = [a for a in data.get("attachments", []) if str(a["id"]) in keep]
        old_files = message.files
        message.files = {a["filename"]: old_files[a["filename"]] for a in kept if a["filename"] in old_files}
        message.files.update(files)
        data["attachments"] = kept + _attachments(files)
    data["flags"] = int(data.get("flags") or 0) & ~LOADING
    data["edited_timestamp"] = iso_now()


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    """(JSON body or payload_json, {filename: bytes} of files[n] parts)."""
    if not request.can_read_body:
        return None, {}
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            content = await part.read()
            name = part.name or ""
            if name == "payload_json":
                body = json.loads(content)
            elif name.startswith("files["):
                files[part.filename or name] = bytes(content)
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), {}
