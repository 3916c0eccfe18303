"""ActivityStream: the reader of X's `GET /2/activity/stream` (app-only bearer), as an async iterator.

    async for item in ActivityStream(session, bearer, base_url=...):
        if isinstance(item, LikeEvent): ...   # each event once (deduplicated by event_uuid)
        else: ...                             # StreamGap: likes in [start, end] may be missing

One JSON object per line; blank lines are keep-alives. A connection that ends, fails, answers 5xx
or 429, or sends no byte for `stall_seconds` (30 s by default) is a drop: the reader reconnects
after a jittered exponential backoff (after a 429, not before X's rate-limit reset) and asks for
`backfill_minutes` covering the outage (at most 5, X's limit); an outage longer than that is
reported as a StreamGap. A line that is not a well-formed event is skipped and counted
(`stats.malformed_lines`), never fatal. X's refusal of the credentials (401, 403) or of the
request (another 4xx) is raised: retrying cannot help.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
import yarl

from xapi import errors
from xapi.activity_parsing import parse_stream_line
from xapi.auth import BearerAuth
from xapi.models import LikeEvent, StreamGap
from xapi.problems import error_from_response

STREAM_PATH = "/2/activity/stream"
MAX_BACKFILL_MINUTES = 5
_MAX_LINE_BYTES = 1 << 20
_SEEN_UUIDS = 100_000
# How many recent backfills and retry delays the stats keep.
_KEPT = 32
_BACKFILL_MARGIN_SECONDS = 15.0
# The longest wait for X's rate-limit reset (its windows are 15 minutes).
_RATE_LIMIT_WAIT_CAP = 900.0


@dataclass(slots=True)
class StreamStats:
    """What the reader has seen since it started."""

    connects: int = 0
    bytes_read: int = 0
    drops: int = 0
    stalls: int = 0
    keepalives: int = 0
    events: int = 0
    duplicates: int = 0
    malformed_lines: int = 0
    other_lines: int = 0
    gaps: int = 0
    # The backfill_minutes asked for on the latest connections, and the waits before the latest
    # reconnects (seconds, jitter included), oldest first.
    backfills: tuple[int, ...] = ()
    retry_delays: tuple[float, ...] = ()


class ActivityStream:
    """Reads the activity stream forever, reconnecting; yields LikeEvent and StreamGap.

    `clock` (Unix seconds) dates the outage; `resume_from` is when the caller last had the stream
    alive (e.g. from its store after a restart): the first connection then backfills from it too.
    """

    def __init__(
        self, session: aiohttp.ClientSession, bearer: BearerAuth, *, base_url: str = "https://api.x.com",
        stall_seconds: float = 30.0, backoff_first: float = 1.0, backoff_cap: float = 60.0,
        clock: Callable[[], float] = time.time, resume_from: datetime | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        if stall_seconds <= 0 or backoff_first <= 0 or backoff_cap < backoff_first:
            raise errors.InvalidInput("stall_seconds and the backoff must be positive (cap >= first).")
        self._session = session
        self._bearer = bearer
        self._base_url = base_url.rstrip("/")
        self._stall = stall_seconds
        self._backoff_first = backoff_first
        self._backoff_cap = backoff_cap
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._last_alive: float | None = resume_from.timestamp() if resume_from else None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.stats = StreamStats()
        # Set while a connection is open and answering (tests and /likes status read it).
        self.connected = asyncio.Event()
        self._items: AsyncGenerator[LikeEvent | StreamGap, None] | None = None

    def __aiter__(self) -> ActivityStream:
        return self

    async def __anext__(self) -> LikeEvent | StreamGap:
        """The next new like event or gap (reconnecting as long as it takes)."""
        if self._items is None:
            self._items = self._read_forever()
        return await self._items.__anext__()

    async def aclose(self) -> None:
        """Close the open connection, if any; the reader can be iterated again afterwards."""
        items, self._items = self._items, None
        if items is not None:
            await items.aclose()

    async def _read_forever(self) -> AsyncGenerator[LikeEvent | StreamGap, None]:
        failures = 0
        while True:
            backfill, gap = self._backfill_now()
            connects = self.stats.connects
            not_before: float | None = None
            try:
                async for item in self._one_connection(backfill, gap):
                    yield item
            except _Dropped as dropped:
                not_before = dropped.not_before
            finally:
                self.connected.clear()
            self.stats.drops += 1
            # A connection X accepted resets the backoff, even if it carried only keep-alives.
            failures = 1 if self.stats.connects > connects else failures + 1
            step = min(self._backoff_cap, self._backoff_first * 2 ** (failures - 1))
            delay = step * random.uniform(0.5, 1.0)
            if not_before is not None:
                # X's connect budget is spent: reconnecting before its reset would only be refused again.
                delay = max(delay, min(_RATE_LIMIT_WAIT_CAP, not_before - self._clock()))
            self.stats.retry_delays = (*self.stats.retry_delays, delay)[-_KEPT:]
            await asyncio.sleep(delay)

    def _backfill_now(self) -> tuple[int, StreamGap | None]:
        """backfill_minutes covering the time since the stream was last alive, and the gap beyond it."""
        if self._last_alive is None:
            return 0, None
        now = self._clock()
        # The margin covers events X stamped just before the last bytes reached the reader.
        outage = max(0.0, now - self._last_alive) + _BACKFILL_MARGIN_SECONDS
        minutes = min(MAX_BACKFILL_MINUTES, math.ceil(outage / 60))
        if outage <= MAX_BACKFILL_MINUTES * 60:
            return minutes, None
        start = datetime.fromtimestamp(self._last_alive, UTC)
        end = datetime.fromtimestamp(now - MAX_BACKFILL_MINUTES * 60, UTC)
        return minutes, StreamGap(start, end)

    async def _one_connection(
        self, backfill: int, gap: StreamGap | None,
    ) -> AsyncIterator[LikeEvent | StreamGap]:
        url = f"{self._base_url}{STREAM_PATH}?backfill_minutes={backfill}"
        header = await self._bearer.authorization(self._session, self._base_url, "GET", url)
        try:
            async with asyncio.timeout(self._connect_timeout):
                response = await self._session.get(
                    yarl.URL(url, encoded=True), headers={"Authorization": header}, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._connect_timeout))
        except (TimeoutError, aiohttp.ClientError, OSError):
            raise _Dropped from None
        async with response:
            if response.status != 200:
                await self._refused(response)
            self.stats.connects += 1
            self.stats.backfills = (*self.stats.backfills, backfill)[-_KEPT:]
            self._last_alive = self._clock()
            self.connected.set()
            if gap is not None:
                self.stats.gaps += 1
                yield gap
            async for line in self._lines(response):
                item = self._decode(line)
                if item is not None:
                    yield item

    async def _refused(self, response: aiohttp.ClientResponse) -> None:
        text = await response.text(errors="replace")
        failure = error_from_response(response.status, text, response.headers, endpoint="activity_stream",
                                      now=self._clock(), redact=self._redact)
        if isinstance(failure, errors.RateLimited):
            raise _Dropped(not_before=failure.reset_at.timestamp())
        if 400 <= response.status < 500:
            raise failure
        raise _Dropped

    async def _lines(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        pending = b""
        while True:
            try:
                async with asyncio.timeout(self._stall):
                    chunk = await response.content.readany()
            except TimeoutError:
                self.stats.stalls += 1
                self._count_cut(pending)
                raise _Dropped from None
            except (aiohttp.ClientError, OSError):
                self._count_cut(pending)
                raise _Dropped from None
            if not chunk:
                self._count_cut(pending)
                raise _Dropped
            self.stats.bytes_read += len(chunk)
            self._last_alive = self._clock()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > _MAX_LINE_BYTES:
                self.stats.malformed_lines += 1
                pending = b""
            for line in lines:
                yield line

    def _count_cut(self, pending: bytes) -> None:
        # A line the drop cut short is lost like a malformed one (the backfill brings its event again).
        if pending.strip():
            self.stats.malformed_lines += 1

    def _decode(self, line: bytes) -> LikeEvent | None:
        if not line.strip():
            self.stats.keepalives += 1
            return None
        try:
            event = parse_stream_line(line)
        except errors.UndecodableResponse:
            self.stats.malformed_lines += 1
            return None
        if event is None:
            self.stats.other_lines += 1
            return None
        if event.event_uuid in self._seen:
            self.stats.duplicates += 1
            return None
        self._seen[event.event_uuid] = None
        if len(self._seen) > _SEEN_UUIDS:
            self._seen.popitem(last=False)
        self.stats.events += 1
        return event

    def _redact(self, text: str) -> str:
        for secret in self._bearer.secrets:
            text = text.replace(secret, "[redacted]")
        return text


class _Dropped(Exception):
    """The connection ended or failed in a way a reconnect can mend (not before `not_before`, Unix s)."""

    def __init__(self, *, not_before: float | None = None) -> None:
        super().__init__()
        self.not_before = not_before
