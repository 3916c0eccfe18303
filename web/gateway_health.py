"""Which of this process's Discord shards are connected: /healthz, the alive file and /metrics read it.

A shard is up from its READY (after its servers arrived) or RESUMED until its disconnect, and
only while its socket is open. An unsharded bot is shard 0 of 1 (on_ready, on_resumed,
on_disconnect); an AutoShardedBot reports each shard (on_shard_ready, on_shard_resumed,
on_shard_disconnect). The process is healthy only when every shard it runs is up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from discord.ext import commands

__all__ = ["GatewayHealth", "ShardState", "watch_gateway"]


@dataclass(frozen=True, slots=True)
class ShardState:
    """One shard as /healthz and /metrics show it; latency in seconds (None before a heartbeat's ack)."""

    id: int
    count: int
    connected: bool
    latency: float | None

    def line(self) -> str:
        """'shard 1 of 2: connected (latency 42 ms)', or '…: not connected'."""
        if not self.connected:
            return f"shard {self.id} of {self.count}: not connected"
        latency = "" if self.latency is None else f" (latency {self.latency * 1000:.0f} ms)"
        return f"shard {self.id} of {self.count}: connected{latency}"


class GatewayHealth:
    """The up/down state of each shard this process runs, from the gateway's events.

    `socket_open(shard)` and `latency(shard)` read discord.py's connection now; `closed()` is the
    client's. `on_change` callbacks run synchronously after each change (the alive file's).
    """

    def __init__(
        self, shard_ids: Sequence[int], shard_count: int, *, socket_open: Callable[[int], bool],
        latency: Callable[[int], float], closed: Callable[[], bool],
    ) -> None:
        self.shard_ids = tuple(shard_ids)
        self.shard_count = shard_count
        self._socket_open = socket_open
        self._latency = latency
        self._closed = closed
        self._up: set[int] = set()
        self.on_change: list[Callable[[], None]] = []

    def came_up(self, shard_id: int) -> None:
        self._up.add(shard_id)
        self._changed()

    def went_down(self, shard_id: int) -> None:
        self._up.discard(shard_id)
        self._changed()

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    def described(self) -> str:
        """'shard 1 of 2', 'shards 0, 1 of 2': which shards this process runs."""
        plural = "" if len(self.shard_ids) == 1 else "s"
        return f"shard{plural} {', '.join(map(str, self.shard_ids))} of {self.shard_count}"

    def is_up(self, shard_id: int) -> bool:
        return shard_id in self._up and self._socket_open(shard_id) and not self._closed()

    def shards(self) -> list[ShardState]:
        """Every shard of this process, in order, as it is now."""
        found = []
        for shard_id in self.shard_ids:
            seconds = self._latency(shard_id)
            found.append(ShardState(shard_id, self.shard_count, self.is_up(shard_id),
                                    seconds if math.isfinite(seconds) else None))
        return found

    def connected(self) -> bool:
        """True while every shard of this process is connected."""
        return bool(self.shard_ids) and all(self.is_up(shard_id) for shard_id in self.shard_ids)


def watch_gateway(bot: commands.Bot) -> GatewayHealth:
    """A GatewayHealth fed by bot's gateway events (its shards, or shard 0 of 1 when unsharded)."""
    if isinstance(bot, commands.AutoShardedBot):
        return _watch_shards(bot)
    health = GatewayHealth(
        (0,), 1, socket_open=lambda _: bot.ws is not None and bot.ws.open,
        latency=lambda _: bot.latency, closed=bot.is_closed,
    )

    async def up() -> None:
        health.came_up(0)

    async def down() -> None:
        health.went_down(0)

    for event in ("on_ready", "on_resumed"):
        bot.add_listener(up, event)
    bot.add_listener(down, "on_disconnect")
    return health


def _watch_shards(bot: commands.AutoShardedBot) -> GatewayHealth:
    count = bot.shard_count
    assert count is not None  # LikesBot passes SHARD_COUNT

    def shard_open(shard_id: int) -> bool:
        shard = bot.get_shard(shard_id)
        return shard is not None and not shard.is_closed()

    def shard_latency(shard_id: int) -> float:
        shard = bot.get_shard(shard_id)
        return float("nan") if shard is None else shard.latency

    health = GatewayHealth(
        bot.shard_ids if bot.shard_ids is not None else range(count), count,
        socket_open=shard_open, latency=shard_latency, closed=bot.is_closed,
    )

    async def up(shard_id: int) -> None:
        health.came_up(shard_id)

    async def down(shard_id: int) -> None:
        health.went_down(shard_id)

    for event in ("on_shard_ready", "on_shard_resumed"):
        bot.add_listener(up, event)
    bot.add_listener(down, "on_shard_disconnect")
    return health
