"""Discord's REST rate limits: per-route buckets keyed by top-level resource, a global limit, 429s.

As Discord documents (docs.discord.com/developers/topics/rate-limits): every answer carries
`X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`; a bucket is one route (method + path
template) per top-level resource (channel_id, guild_id, webhook_id + webhook_token); the global
limit is 50 requests a second per bot, and interaction endpoints are not bound to it. A 429 has a
`Via` header, `Retry-After`, `X-RateLimit-Scope` (user, global or shared; `X-RateLimit-Global` when
global) and a JSON body `{message, retry_after, global}`.

`RateLimits.discord()` holds the limits Discord is known to apply (5 message sends per 5 s per
channel); the emulator's default, `RateLimits.roomy()`, has the same buckets and headers with room
enough that no test or benchmark waits on them. Tests force a 429 with `force(...)`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

TOP_LEVEL_RESOURCES = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")
# Discord: "Interaction endpoints are not bound to the bot's Global Rate Limit."
GLOBAL_EXEMPT_PREFIXES = ("/interactions/", "/webhooks/")
SCOPES = ("user", "global", "shared")


@dataclass(frozen=True)
class Limit:
    requests: int
    per_seconds: float


@dataclass
class RateLimits:
    """Which limit applies to which route, and the bot's global limit."""

    global_limit: Limit
    default: Limit
    routes: dict[tuple[str, str], Limit] = field(default_factory=dict)

    @classmethod
    def discord(cls) -> RateLimits:
        """The limits a bot meets on Discord (they are not published per route; these are observed)."""
        return cls(Limit(50, 1.0), Limit(50, 1.0), {
            ("POST", "/channels/{channel_id}/messages"): Limit(5, 5.0),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}"): Limit(5, 5.0),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}"): Limit(5, 1.0),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}"): Limit(5, 2.0),
        })

    @classmethod
    def roomy(cls) -> RateLimits:
        """Discord's buckets and headers, with limits no test reaches (so nobody waits on them)."""
        return cls(Limit(100_000, 1.0), Limit(100_000, 1.0))

    def limit_for(self, method: str, route: str) -> Limit:
        return self.routes.get((method, route), self.default)


@dataclass(slots=True)
class Window:
    """One bucket's fixed window: requests counted since `started`."""

    limit: Limit
    started: float
    used: int = 0

    def reset_after(self, now: float) -> float:
        return max(0.0, self.started + self.limit.per_seconds - now)


@dataclass
class ForcedLimit:
    """A 429 a test asked for: the next `count` requests to method route (None: any route)."""

    method: str | None
    route: str | None
    count: int
    retry_after: float
    scope: str


class RateLimited(Exception):
    """Discord's 429 answer: status, headers and body."""

    def __init__(self, headers: dict[str, str], body: dict[str, Any]) -> None:
        super().__init__(body["message"])
        self.headers, self.body = headers, body


@functools.cache
def bucket_hash(method: str, route: str) -> str:
    return hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:16]


class RateLimiter:
    """Counts requests per bucket and globally on the emulator's clock; answers 429 when over."""

    def __init__(self, limits: RateLimits, clock: Any) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[tuple[str, ...], Window] = {}
        self._global: Window | None = None
        self._forced: list[ForcedLimit] = []
        # Windows of every interaction token pile up: drop the expired ones once there are this many.
        self._purge_at = 256

    def force(
        self, method: str | None = None, route: str | None = None, *, count: int = 1,
        retry_after: float = 0.0, scope: str = "user",
    ) -> None:
        """Answer the next `count` requests to `method route` (both None: any route) with a 429."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}")
        self._forced.append(ForcedLimit(method and method.upper(), route, count, retry_after, scope))

    def check(self, method: str, route: str, params: dict[str, str]) -> dict[str, str]:
        """The rate-limit headers of this request's answer; raises RateLimited for a 429."""
        now = self.clock.now()
        limit = self.limits.limit_for(method, route)
        key = (method, route, *(params[p] for p in TOP_LEVEL_RESOURCES if p in params))
        window = self._windows.get(key)
        if window is None or window.reset_after(now) <= 0 or window.limit != limit:
            window = self._windows[key] = Window(limit, now)
            if len(self._windows) > self._purge_at:
                self._windows = {k: w for k, w in self._windows.items() if w.reset_after(now) > 0}
                self._purge_at = max(256, 2 * len(self._windows))
        forced = self._take_forced(method, route)
        if forced is not None:
            raise self._too_many(method, route, window, now, forced.retry_after, scope=forced.scope)
        if not route.startswith(GLOBAL_EXEMPT_PREFIXES):
            glob = self._global
            if glob is None or glob.reset_after(now) <= 0 or glob.limit != self.limits.global_limit:
                glob = self._global = Window(self.limits.global_limit, now)
            if glob.used >= glob.limit.requests:
                raise self._too_many(method, route, window, now, glob.reset_after(now), scope="global")
            glob.used += 1
        if window.used >= limit.requests:
            raise self._too_many(method, route, window, now, window.reset_after(now), scope="user")
        window.used += 1
        return self._headers(method, route, window, now)

    def _take_forced(self, method: str, route: str) -> ForcedLimit | None:
        exempt = route.startswith(GLOBAL_EXEMPT_PREFIXES)
        for forced in self._forced:
            if forced.scope == "global" and exempt:
                continue  # interaction endpoints are not bound to the global limit
            if forced.method in (None, method) and forced.route in (None, route):
                forced.count -= 1
                if forced.count <= 0:
                    self._forced.remove(forced)
                return forced
        return None

    def _headers(self, method: str, route: str, window: Window, now: float) -> dict[str, str]:
        reset_after = window.reset_after(now)
        return {
            "X-RateLimit-Limit": str(window.limit.requests),
            "X-RateLimit-Remaining": str(max(0, window.limit.requests - window.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(method, route),
        }

    def _too_many(
        self, method: str, route: str, window: Window, now: float, retry_after: float, *, scope: str
    ) -> RateLimited:
        is_global = scope == "global"
        headers = {
            "Via": "1.1 google", "Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": scope,
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update(self._headers(method, route, window, now))
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}"})
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return RateLimited(headers, body)
