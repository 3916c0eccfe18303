"""The gateway websocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay.

A session outlives its socket, as on Discord: every dispatch is numbered and kept (the last
REPLAY_LIMIT), and a RESUME with the session id and the client's last `seq` replays what came
after it, then RESUMED. Tests break the connection as Discord does: `drop` (the socket dies
without a close frame), `reconnect` (op 7 RECONNECT) and `invalidate` (op 9 INVALID_SESSION; not
resumable: the session is forgotten and the client must IDENTIFY again). A client closing with
1000/1001 ends its session; any other close leaves it resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.emulator import sharding
from tests.emulator.state import new_snowflake

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT
HEARTBEAT_INTERVAL_MS = 41250
REPLAY_LIMIT = 64
SESSION_ENDING_CLOSES = (1000, 1001)


@dataclass
class GatewaySession:
    """One gateway session: its id, its sequence numbers and the socket it is on now (if any)."""

    session_id: str = field(default_factory=new_snowflake)
    # [id, count] from IDENTIFY; an unsharded session is shard 0 of 1 (it gets every guild's events).
    shard: tuple[int, int] = sharding.UNSHARDED
    sequence: int = 0
    ws: web.WebSocketResponse | None = None
    # (seq, the frame as sent): text, so a replayable frame holds no live payload (benchmarks free them).
    sent: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=REPLAY_LIMIT))

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def dispatch(self, event: str, data: Any) -> None:
        """Number and keep the event; send it now if the session has a live socket."""
        self.sequence += 1
        # Plain text frames: discord.py only inflates binary frames.
        frame = json.dumps({"op": 0, "t": event, "s": self.sequence, "d": data})
        self.sent.append((self.sequence, frame))
        if self.connected:
            await self._send(frame)

    async def _send(self, frame: str) -> None:
        assert self.ws is not None
        # If the socket died under us, the frame is kept and replayed on RESUME.
        with contextlib.suppress(ConnectionError):
            await self.ws.send_str(frame)

    async def replay_after(self, seq: int) -> None:
        for frame in [f for s, f in self.sent if s > seq]:
            await self._send(frame)


@dataclass
class Connection:
    """One websocket and the request that carried it (its transport can be cut)."""

    ws: web.WebSocketResponse
    request: web.Request
    session: GatewaySession | None = None


async def gateway_handler(emulator: DiscordEmulator, request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    connection = Connection(ws, request)
    emulator.gateway.connections.append(connection)
    if emulator.gateway.gate is not None:
        await emulator.gateway.gate.wait()  # held: the client waits for HELLO, still disconnected
    await _send_op(ws, {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message.get("op"), message.get("d")
            emulator.gateway_frames.append(message)
            if op == 1:
                await _send_op(ws, {"op": 11})
            elif op == 2:
                await _identify(emulator, connection, data)
            elif op == 6:
                await _resume(emulator, connection, data)
    finally:
        _disconnected(emulator, connection)
    return ws


def _disconnected(emulator: DiscordEmulator, connection: Connection) -> None:
    emulator.gateway.connections.remove(connection)
    session = connection.session
    if session is None or session.ws is not connection.ws:
        return
    session.ws = None
    if session in emulator.sessions:
        emulator.sessions.remove(session)
    if connection.ws.close_code in SESSION_ENDING_CLOSES:
        emulator.gateway.known.pop(session.session_id, None)
    emulator.gateway.changed()


async def _send_op(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError):
        await ws.send_str(json.dumps(frame))


async def _refuse_token(emulator: DiscordEmulator, connection: Connection, data: dict[str, Any]) -> bool:
    if data.get("token") == emulator.token:
        return False
    await connection.ws.close(code=4004, message=b"Authentication failed.")
    return True


async def _identify(emulator: DiscordEmulator, connection: Connection, data: dict[str, Any]) -> None:
    emulator.identify_payloads.append(data)
    if await _refuse_token(emulator, connection, data):
        return
    if int(data.get("intents", 0)) & PRIVILEGED_INTENTS & ~emulator.allowed_privileged_intents:
        await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
        return
    asked = sharding.requested_shard(data)
    shard = asked or sharding.UNSHARDED
    live_counts = [s.shard[1] for s in emulator.gateway.known.values()]
    refused = sharding.refusal(emulator.sharding, shard, live_counts, [g.id for g in emulator.guilds])
    if refused is not None:
        await connection.ws.close(code=refused[0], message=refused[1].encode())
        return
    plan = emulator.sharding
    plan.session_start_remaining = max(0, plan.session_start_remaining - 1)
    session = GatewaySession(ws=connection.ws, shard=shard)
    connection.session = session
    emulator.gateway.known[session.session_id] = session
    emulator.sessions.append(session)
    base = f"ws://127.0.0.1:{emulator.port}/"
    guilds = [g for g in emulator.guilds if sharding.receives(shard, g.id)]
    ready: dict[str, Any] = {
        "v": 10, "user": emulator.bot_user.to_json(), "session_id": session.session_id,
        "resume_gateway_url": base, "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
        "application": {"id": emulator.application_id, "flags": 0}, "private_channels": [],
        "relationships": [], "presences": [], "user_settings": {},
    }
    if asked is not None:
        ready["shard"] = list(asked)
    await session.dispatch("READY", ready)
    for guild in guilds:
        await session.dispatch("GUILD_CREATE", guild.to_json())
    emulator.gateway.readies += 1
    emulator.ready_sent.set()
    emulator.gateway.changed()


async def _resume(emulator: DiscordEmulator, connection: Connection, data: dict[str, Any]) -> None:
    emulator.resume_payloads.append(data)
    if await _refuse_token(emulator, connection, data):
        return
    session = emulator.gateway.known.get(str(data.get("session_id")))
    seq = int(data.get("seq") or 0)
    if session is None or seq > session.sequence:
        # Discord: a session that cannot be resumed answers op 9 with d=false.
        await _send_op(connection.ws, {"op": 9, "d": False})
        return
    if session.connected and session.ws is not connection.ws:
        assert session.ws is not None
        await session.ws.close(code=4000)
    session.ws = connection.ws
    connection.session = session
    if session not in emulator.sessions:
        emulator.sessions.append(session)
    await session.replay_after(seq)
    await session.dispatch("RESUMED", {})
    emulator.gateway.resumes += 1
    emulator.gateway.changed()


class GatewayControl:
    """What the emulator keeps about gateway sessions, and the faults a test can cause."""

    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emulator = emulator
        self.known: dict[str, GatewaySession] = {}
        self.connections: list[Connection] = []
        self.gate: asyncio.Event | None = None
        self.readies = 0
        self.resumes = 0
        self._changes: set[asyncio.Task[None]] = set()

    def changed(self) -> None:
        """Wake the emulator's waiters (from a handler that must not block on them)."""
        task = asyncio.ensure_future(self.emulator._notify())
        self._changes.add(task)
        task.add_done_callback(self._changes.discard)

    async def dispatch(self, event: str, data: Any) -> None:
        """To every session of the event's shard Discord still knows: sent now, or replayed on RESUME."""
        guild_id = sharding.guild_of(event, data)
        for session in list(self.known.values()):
            if sharding.receives(session.shard, guild_id):
                await session.dispatch(event, data)

    def _live(self) -> list[Connection]:
        return [c for c in self.connections if c.session is not None and c.session.connected]

    async def drop(self) -> None:
        """Cut every session's socket without a close frame (the network failed); sessions stay resumable."""
        for connection in self._live():
            transport = connection.request.transport
            if transport is not None:
                transport.abort()
        await self.emulator.wait_until(lambda: not self.emulator.sessions, what="the gateway sockets to drop")

    async def reconnect(self) -> None:
        """Op 7 RECONNECT: Discord asks the client to reconnect and RESUME."""
        for connection in self._live():
            await _send_op(connection.ws, {"op": 7, "d": None})

    async def invalidate(self, *, resumable: bool) -> None:
        """Op 9 INVALID_SESSION; not resumable: Discord forgets the session (a RESUME of it fails)."""
        for connection in self._live():
            assert connection.session is not None
            if not resumable:
                self.known.pop(connection.session.session_id, None)
            await _send_op(connection.ws, {"op": 9, "d": resumable})

    def hold(self) -> asyncio.Event:
        """New gateway connections get no HELLO until the returned event is set (the bot stays offline)."""
        gate = self.gate = asyncio.Event()

        async def open_again() -> None:
            await gate.wait()
            if self.gate is gate:
                self.gate = None

        task = asyncio.ensure_future(open_again())
        self._changes.add(task)
        task.add_done_callback(self._changes.discard)
        return gate
