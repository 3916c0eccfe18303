"""The alive file `python bot.py --healthcheck` reads: fresh while the gateway is connected, gone otherwise.

The container's HEALTHCHECK may run in a process that cannot reach the web server, so the bot also
keeps this file beside its database, one per shard set (launcher.alive_file_for): rewritten every
ALIVE_INTERVAL seconds while connected, removed at once on a disconnect (the check fails now, not
90 s later) and when the bot stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

log = logging.getLogger("likelens")

ALIVE_INTERVAL = 30.0


def shard_ids_in(environ: Mapping[str, str]) -> tuple[int, ...] | None:
    """SHARD_IDS of environ, read as the running bot read it (None: unset, or not a list of numbers)."""
    raw = environ.get("SHARD_IDS", "").strip()
    if not raw or not environ.get("SHARD_COUNT", "").strip():
        return None
    try:
        return tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
    except ValueError:
        return None


class AliveFile:
    """The bot's alive file at `path`; `is_connected` says whether the gateway is up right now."""

    def __init__(self, path: Path, is_connected: Callable[[], bool]) -> None:
        self.path = path
        self._is_connected = is_connected

    async def keep_fresh(
        self, wait_until_ready: Callable[[], Awaitable[None]], is_closed: Callable[[], bool],
    ) -> None:
        """Rewrite the file every ALIVE_INTERVAL seconds while connected, until the bot closes."""
        await wait_until_ready()
        while not is_closed():
            # Only a bot with a live gateway connection counts as healthy.
            if not self._is_connected():
                await asyncio.sleep(1)
                continue
            self.write()
            await asyncio.sleep(ALIVE_INTERVAL)

    def write(self) -> None:
        """A fresh file now, if connected."""
        # Synchronous (a tiny write), so it never lands after an on_disconnect that removed the file.
        if not self._is_connected():
            return
        try:
            self.path.write_text(str(time.time()))
        except OSError:
            # A full disk must not end the loop silently: say so and try again next time.
            log.warning("Could not refresh the healthcheck file %s", self.path, exc_info=True)

    def remove(self) -> None:
        """No file: the healthcheck fails from now on."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Stop keep_fresh's task and remove the file: a stopped bot is not healthy."""
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.to_thread(self.path.unlink, missing_ok=True)
