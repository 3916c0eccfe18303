"""Which process of the deployment reads X's activity stream: the holder of lease "live-stream".

Every process with X's bearer asks for the lease (store/leases.py) at start and every `seconds / 3`
after; the one that gets it leads (the live feed reads the stream, reconciles the subscriptions and
posts every live digest) and renews it at each tick. A process that fails to renew (another took the
lease after it expired: this one was stuck or cut off) stops leading at once. A clean stop gives
the lease up, so another process takes over at its next tick; a killed leader's lease expires after
`seconds` and is taken over then. The feed's posting renews the lease inside each batch's
transaction (`renew`), so two processes never move one digest's cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from store import leases
from store.engine import Database

log = logging.getLogger("likelens.live")

LEASE_NAME = "live-stream"
LEASE_SECONDS = 30.0


class LiveLeadership:
    """This process's hold on lease "live-stream": `lead(first)` runs at each tick it holds the lease
    (first: it has just taken it, or the first call failed), `step_down()` when it lost it."""

    def __init__(
        self, conn: Database, holder: str, *, clock: Callable[[], float],
        lead: Callable[[bool], Awaitable[None]], step_down: Callable[[], Awaitable[None]],
        seconds: float = LEASE_SECONDS,
    ) -> None:
        self._conn = conn
        self.holder = holder
        self._clock = clock
        self._lead = lead
        self._step_down = step_down
        self._soon = asyncio.Event()
        self._seconds = seconds
        self.leading = False
        # Whether lead(first=True) has run to its end since the lease was taken (else it runs again).
        self._settled = False
        self._renewed_at = 0.0
        self._watcher: asyncio.Task[None] | None = None

    @property
    def seconds(self) -> float:
        """How long a taken or renewed lease lasts (checked every third of it)."""
        return self._seconds

    @seconds.setter
    def seconds(self, seconds: float) -> None:
        self._seconds = seconds
        self._soon.set()  # The next checks follow the new length at once.

    async def renew(self) -> bool:
        """Take or renew the lease now (inside the caller's transaction, if any); False: another holds it."""
        now = self._clock()
        held = await leases.acquire(self._conn, LEASE_NAME, self.holder, now=now, seconds=self.seconds)
        if held:
            self._renewed_at = now
        return held

    async def check(self) -> None:
        """One tick: take or renew the lease, then lead or step down."""
        try:
            held = await self.renew()
        except Exception:
            log.exception("Live likes: could not reach the lease %r in the database", LEASE_NAME)
            # Unreachable: keep leading only as long as the last renewal lasts.
            held = self.leading and self._clock() - self._renewed_at < self.seconds
        if held:
            if not self.leading:
                log.info("Live likes: this process (%s) leads: it reads X's stream and posts live digests",
                         self.holder)
            self.leading = True
            await self._lead(not self._settled)
            self._settled = True
        elif self.leading:
            self.leading = self._settled = False
            log.warning("Live likes: this process no longer holds the lease; it stops reading the stream")
            await self._step_down()

    def start(self) -> None:
        """Check every seconds / 3 from now on (and when `check_soon` asks)."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="live-lease")

    def check_soon(self) -> None:
        self._soon.set()

    async def _watch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.seconds / 3):
                    await self._soon.wait()
            self._soon.clear()
            try:
                await self.check()
            except Exception:
                log.exception("Live likes: the lease check failed")

    async def stop(self, *, release: bool) -> None:
        """Stop checking; release: give the lease up (a clean stop), else leave it to expire."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if release and self.leading:
            try:
                await leases.release(self._conn, LEASE_NAME, self.holder)
            except Exception:
                log.exception("Live likes: could not give the lease up; it expires in %.0f s", self.seconds)
        self.leading = self._settled = False
