"""Discord's sharding, as the emulator speaks it: GET /gateway/bot, IDENTIFY's `shard`, routing.

A guild belongs to shard `(guild_id >> 22) % shard_count`; its events (GUILD_CREATE,
INTERACTION_CREATE, CHANNEL_UPDATE, …) go only to the session of that shard, and events of no
guild (DMs) to shard 0, as on Discord. An IDENTIFY with a shard id outside [0, count), or a count
other than the live sessions' count, is closed with 4010 (Invalid shard); a shard that would hold
more guilds than `max_guilds_per_shard` (off by default) is closed with 4011 (Sharding required).
Every IDENTIFY spends one of `session_start_limit.remaining`, which GET /gateway/bot reports.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.emulator.state import DISCORD_EPOCH_MS

INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
UNSHARDED = (0, 1)
# Events whose payload is the guild itself (its id is `id`, not `guild_id`).
GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")
_low_bits = itertools.count(1)


@dataclass
class ShardingPlan:
    """What GET /gateway/bot recommends and allows; a test sets these before the bot connects."""

    recommended_shards: int = 1
    # Discord's real threshold is 2500 guilds per shard; None: never require sharding.
    max_guilds_per_shard: int | None = None
    session_start_total: int = 1000
    session_start_remaining: int = 1000
    reset_after_ms: int = 0
    max_concurrency: int = 1

    def gateway_bot(self, url: str) -> dict[str, Any]:
        """The body of GET /gateway/bot (GatewayBotResponse)."""
        return {
            "url": url, "shards": self.recommended_shards,
            "session_start_limit": {
                "total": self.session_start_total, "remaining": self.session_start_remaining,
                "reset_after": self.reset_after_ms, "max_concurrency": self.max_concurrency,
            },
        }


def shard_of(guild_id: str | int, shard_count: int) -> int:
    """The shard Discord routes a guild's events to."""
    return (int(guild_id) >> 22) % shard_count


def snowflake_on_shard(shard_id: int, shard_count: int) -> str:
    """A new, unique snowflake whose guild would live on shard_id of shard_count."""
    timestamp = int(time.time() * 1000) - DISCORD_EPOCH_MS
    timestamp += (shard_id - timestamp) % shard_count
    return str((timestamp << 22) | (next(_low_bits) & 0x3FFFFF))


def requested_shard(identify: dict[str, Any]) -> tuple[int, int] | None:
    """IDENTIFY's `shard: [id, count]`, or None when the client did not shard."""
    shard = identify.get("shard")
    if shard is None:
        return None
    shard_id, shard_count = (int(value) for value in shard)
    return shard_id, shard_count


def refusal(
    plan: ShardingPlan, shard: tuple[int, int], live_counts: Iterable[int], guild_ids: Iterable[str]
) -> tuple[int, str] | None:
    """The close code and reason Discord would answer this IDENTIFY with, or None to accept it."""
    shard_id, shard_count = shard
    if shard_count < 1 or not 0 <= shard_id < shard_count:
        return INVALID_SHARD, "Invalid shard."
    if any(count != shard_count for count in live_counts):
        return INVALID_SHARD, "Invalid shard."
    held = sum(1 for guild_id in guild_ids if shard_of(guild_id, shard_count) == shard_id)
    if plan.max_guilds_per_shard is not None and held > plan.max_guilds_per_shard:
        return SHARDING_REQUIRED, "Sharding required."
    return None


def guild_of(event: str, data: Any) -> str | None:
    """The guild an event belongs to (None: not a guild's event, e.g. a DM)."""
    if not isinstance(data, dict):
        return None
    if event in GUILD_EVENTS:
        return str(data["id"])
    guild_id = data.get("guild_id")
    return None if guild_id is None else str(guild_id)


def receives(shard: tuple[int, int], guild_id: str | None) -> bool:
    """Whether the session of shard gets an event of guild_id (no guild: shard 0 only)."""
    shard_id, shard_count = shard
    if guild_id is None:
        return shard_id == 0
    return shard_of(guild_id, shard_count) == shard_id
