"""A bounded TTL cache and a single-flight group: the two ways the client avoids paying twice."""

from __future__ import annotations

import asyncio
import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Least-recently-used cache whose entries expire `ttl` seconds after they were stored."""

    def __init__(self, *, ttl: float, max_size: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        """The live value under `key`, or None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Store `value`, evicting the least recently used entries beyond `max_size`."""
        if self._ttl <= 0 or self._max_size <= 0:
            return
        self._entries[key] = (self._clock() + self._ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class _Flight(Generic[V]):
    def __init__(self, task: asyncio.Task[V]) -> None:
        self.task = task
        self.waiters = 0


def mark_retrieved(task: asyncio.Task[Any]) -> None:
    """Done-callback: mark a shared task's exception as retrieved, so a failure nobody awaited any
    more (every waiter left early) is not logged as "never retrieved"; later awaiters still get it."""
    if not task.cancelled():
        task.exception()


class SingleFlight(Generic[V]):
    """Identical concurrent calls share one running task; the last waiter to leave cancels it."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[V]] = {}

    async def run(self, key: Hashable, start: Callable[[], Awaitable[V]]) -> tuple[V, bool]:
        """(result, joined): `joined` is True when another caller's request was shared."""
        flight = self._flights.get(key)
        joined = flight is not None
        if flight is None:
            task: asyncio.Task[V] = asyncio.ensure_future(start())
            task.add_done_callback(mark_retrieved)
            flight = _Flight(task)
            self._flights[key] = flight
            task.add_done_callback(functools.partial(self._forget, key, flight))
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task), joined
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                flight.task.cancel()
                await asyncio.wait([flight.task])

    def _forget(self, key: Hashable, flight: _Flight[V], _task: object) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
