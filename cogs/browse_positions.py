"""Saves where each paginator stands after its click was answered, in the background.

A click answers from memory first; its position reaches the store afterwards: within WRITE_DELAY,
the latest one per paginator, all the paginators clicked meanwhile in one transaction (so quick
clicks do not each wait for SQLite, nor compete with its thread while the next click is answered).
The position only saves X requests after a restart (the page a button shows is in its custom_id),
so a write that fails is logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from store.browse_state import save_positions
from store.engine import Database

log = logging.getLogger("likelens.browse")
# Not a command or component handler: the test and bench harnesses do not wait for it.
WRITER_TASK = "likelens-browse-positions"
# How long positions gather before one write; a crash loses at most this much (clean stops flush).
WRITE_DELAY = 1.0


class PositionWriter:
    """Write-behind of paginator positions: `save` returns at once, `flush` waits until all are stored."""

    def __init__(self, connection: Callable[[], Database], *, delay: float = WRITE_DELAY) -> None:
        self._connection = connection
        self._delay = delay
        self._pending: dict[str, tuple[dict[str, Any], float]] = {}
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()

    def save(self, browse_id: str, state: dict[str, Any], *, now: float) -> None:
        """Store this position soon (a later one for the same paginator replaces it if not yet written)."""
        self._pending[browse_id] = (state, now)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write(), name=WRITER_TASK)

    async def _write(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurry.wait(), self._delay)
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                await save_positions(self._connection(), batch)
            except Exception:
                log.exception("Could not save %d paginator positions", len(batch))

    async def flush(self) -> None:
        """Wait until every position saved so far is in the store (at shutdown, before the store closes)."""
        self._hurry.set()
        try:
            if self._task is not None and not self._task.done():
                await asyncio.shield(self._task)
            if self._pending:
                await self._write()
        finally:
            self._hurry.clear()
