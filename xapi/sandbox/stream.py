"""The sandbox's `GET /2/activity/stream`: one JSON object per line, keep-alive lines, backfill.

App-only bearer only (a user token gets 403 unsupported-authentication, as the spec allows only
BearerToken). Every event the sandbox emits goes to each open stream and into a buffer of the
last five minutes; a connection with `backfill_minutes=m` (0-5) first gets the buffered events of
the last m minutes (already-seen ones included: the reader dedupes by `event_uuid`). `start_time`
and `end_time` are accepted (the spec checks their format) but not replayed by.

Switches: `keepalive_seconds`, `omit_includes` (events emitted without includes.users),
`streams_down` (new connections get 503), `drop_streams()` (cut every open stream),
`stall_streams()` (open streams send nothing more, not even keep-alives, and stay open) and
`inject_line(text)` (a raw line, e.g. malformed JSON, on every open stream). Accepted connections
spend a rate budget like the other endpoints (key `activity_stream`); a spent one gets 429.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from xapi.sandbox.problems import Answer, problem
from xapi.sandbox.request_log import SandboxRequest

if TYPE_CHECKING:
    from xapi.sandbox.server import XSandbox

BACKFILL_LIMIT_MINUTES = 5
_BUFFER_MAX = 50_000
# A stalled handler checks this often whether its client went away.
_STALL_POLL_SECONDS = 0.05


@dataclass(slots=True)
class _OpenStream:
    """One connected reader."""

    request: web.Request
    record: SandboxRequest
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    stalled: bool = False


class ActivityStreams:
    """Every open stream of the sandbox and the buffer backfill is served from."""

    def __init__(self, sandbox: XSandbox) -> None:
        self.sandbox = sandbox
        self.keepalive_seconds = 20.0
        self.omit_includes = False
        self.streams_down = False
        # (sandbox clock when emitted, event) oldest first.
        self.buffer: deque[tuple[float, dict[str, Any]]] = deque(maxlen=_BUFFER_MAX)
        self._open: list[_OpenStream] = []
        # Connections the sandbox answered 200 on, since it started.
        self.connections = 0

    @property
    def open_streams(self) -> int:
        """Streams connected now (stalled ones included)."""
        return len(self._open)

    def emit(self, event: dict[str, Any]) -> None:
        """Send `event` to every open stream (not stalled) and keep it for backfill."""
        now = self.sandbox.clock()
        if self.omit_includes:
            event["data"].pop("includes", None)
        self.buffer.append((now, event))
        while self.buffer and self.buffer[0][0] < now - BACKFILL_LIMIT_MINUTES * 60 - 60:
            self.buffer.popleft()
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\r\n"
        for stream in self._open:
            self.sandbox.log.streamed(stream.record, event)
            stream.queue.put_nowait(line)

    def drop_streams(self) -> None:
        """Cut every open stream (the client sees the connection end)."""
        for stream in list(self._open):
            stream.queue.put_nowait(None)
            if stream.request.transport is not None:
                stream.request.transport.abort()
        self._open.clear()

    def stall_streams(self) -> None:
        """Open streams stop sending anything, keep-alives included, but stay open."""
        for stream in self._open:
            stream.stalled = True

    def inject_line(self, text: str, *, end: str = "\r\n") -> None:
        """Send `text` + `end` on every open stream, as is (malformed JSON, an error object; end="" leaves
        the line unfinished, as a connection cut mid-line does)."""
        for stream in self._open:
            stream.queue.put_nowait(text + end)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /2/activity/stream."""
        sandbox = self.sandbox
        presented = sandbox.authenticator.kind_of(request.headers)
        record = SandboxRequest(request.method, request.path, dict(request.query), presented, 0)
        slot = sandbox.log.arrived(record)
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        caller = sandbox.authenticator.identify(request.method, url, request.headers)
        refusal, backfill = self._refusal(caller.kind, request.query)
        headers: dict[str, str] = {}
        if refusal is None:
            # Connections accepted otherwise spend the app's connect budget (rate_limits["activity_stream"]).
            headers = sandbox.spend_budget("activity_stream", caller.identity)
            if headers["x-rate-limit-remaining"] == "-1":
                headers["x-rate-limit-remaining"] = "0"
                refusal = problem("about:blank", "Too Many Requests", "Too Many Requests", 429)
        if refusal is not None:
            sandbox.log.answered(slot, caller.kind, refusal.status, naming="tweet",
                                 content_type=refusal.content_type, body=refusal.body)
            return web.Response(status=refusal.status, text=json.dumps(refusal.body),
                                content_type=refusal.content_type, headers=headers)
        sandbox.log.answered(slot, caller.kind, 200, naming="tweet", content_type="application/json",
                             body=None)
        record = SandboxRequest(request.method, request.path, dict(request.query), caller.kind, 200)
        stream = _OpenStream(request, record)
        # Backfill and the live queue are taken at the same instant, so no event falls between them.
        since = sandbox.clock() - backfill * 60
        replay = [event for at, event in self.buffer if at >= since] if backfill else []
        self._open.append(stream)
        self.connections += 1
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json", **headers})
        try:
            await response.prepare(request)
            for event in replay:
                sandbox.log.streamed(record, event)
                await response.write(json.dumps(event, ensure_ascii=False).encode() + b"\r\n")
            await self._pump(stream, response)
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if stream in self._open:
                self._open.remove(stream)
        return response

    def _refusal(self, kind: str, query: Any) -> tuple[Answer | None, int]:
        if kind in ("invalid", "none"):
            return problem("about:blank", "Unauthorized", "Unauthorized", 401), 0
        if kind != "bearer":
            return problem(
                "unsupported-authentication", "Unsupported Authentication",
                "Authenticating with a user context is forbidden for this endpoint.  Supported "
                "authentication types are [OAuth 2.0 Application-Only].", 403), 0
        raw = query.get("backfill_minutes", "0")
        if not raw.isdigit() or not 0 <= int(raw) <= BACKFILL_LIMIT_MINUTES:
            return problem("invalid-request", "Invalid Request",
                           f"The `backfill_minutes` query parameter value [{raw}] is not between 0 and 5",
                           400), 0
        if self.streams_down:
            return problem("about:blank", "Service Unavailable", "Service Unavailable", 503), 0
        return None, int(raw)

    async def _pump(self, stream: _OpenStream, response: web.StreamResponse) -> None:
        while True:
            if stream.stalled:
                await self._hold(stream)
                return
            try:
                line = await asyncio.wait_for(stream.queue.get(), self.keepalive_seconds)
            except TimeoutError:
                line = "\r\n"
            if line is None:
                return
            if stream.stalled:
                continue
            await response.write(line.encode())

    async def _hold(self, stream: _OpenStream) -> None:
        # Stalled: nothing is written until the stream is dropped or its client leaves.
        transport = stream.request.transport
        while stream in self._open and transport is not None and not transport.is_closing():
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(stream.queue.get(), _STALL_POLL_SECONDS) is None:
                    return
