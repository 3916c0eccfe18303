"""The gateway websocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME, dispatch."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.emulator.state import new_snowflake

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT
HEARTBEAT_INTERVAL_MS = 41250


@dataclass
class GatewaySession:
    ws: web.WebSocketResponse
    session_id: str = field(default_factory=new_snowflake)
    sequence: int = 0
    identified: bool = False

    async def dispatch(self, event: str, data: Any) -> None:
        self.sequence += 1
        # Plain text frames: discord.py only inflates binary frames.
        await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.sequence, "d": data}))


async def gateway_handler(emulator: DiscordEmulator, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    session = GatewaySession(ws)
    await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
    async for frame in ws:
        if frame.type != WSMsgType.TEXT:
            continue
        message = json.loads(frame.data)
        op, data = message.get("op"), message.get("d")
        emulator.gateway_frames.append(message)
        if op == 1:
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:
            await _identify(emulator, session, data)
        elif op == 6:
            await _resume(emulator, session, data)
    if session in emulator.sessions:
        emulator.sessions.remove(session)
    return ws


async def _identify(emulator: DiscordEmulator, session: GatewaySession, data: dict[str, Any]) -> None:
    emulator.identify_payloads.append(data)
    if data.get("token") != emulator.token:
        await session.ws.close(code=4004, message=b"Authentication failed.")
        return
    if int(data.get("intents", 0)) & PRIVILEGED_INTENTS & ~emulator.allowed_privileged_intents:
        await session.ws.close(code=4014, message=b"Disallowed intent(s).")
        return
    session.identified = True
    emulator.sessions.append(session)
    base = f"ws://127.0.0.1:{emulator.port}/"
    await session.dispatch("READY", {
        "v": 10, "user": emulator.bot_user.to_json(), "session_id": session.session_id,
        "resume_gateway_url": base, "guilds": [{"id": g.id, "unavailable": True} for g in emulator.guilds],
        "application": {"id": emulator.application_id, "flags": 0}, "private_channels": [],
        "relationships": [], "presences": [], "user_settings": {},
    })
    for guild in emulator.guilds:
        await session.dispatch("GUILD_CREATE", guild.to_json())
    emulator.ready_sent.set()


async def _resume(emulator: DiscordEmulator, session: GatewaySession, data: dict[str, Any]) -> None:
    if data.get("token") != emulator.token:
        await session.ws.close(code=4004, message=b"Authentication failed.")
        return
    session.identified = True
    session.session_id = str(data.get("session_id"))
    session.sequence = int(data.get("seq") or 0)
    emulator.sessions.append(session)
    await session.dispatch("RESUMED", {})
