"""Counters of what the client cost, per UTC day (for `/likes status` and the benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(slots=True)
class ClientStats:
    """Requests sent, items read by kind ("users", "posts"), cache hits and single-flight joins on `day`."""

    day: date
    requests_sent: int = 0
    cache_hits: int = 0
    singleflight_joins: int = 0
    items_read: dict[str, int] = field(default_factory=lambda: {"users": 0, "posts": 0})
    # The same requests and items by endpoint name (for /metrics).
    requests_by_endpoint: dict[str, int] = field(default_factory=dict)
    items_by_endpoint: dict[str, int] = field(default_factory=dict)

    def count_request(self, endpoint: str) -> None:
        self.requests_sent += 1
        self.requests_by_endpoint[endpoint] = self.requests_by_endpoint.get(endpoint, 0) + 1

    def count_items(self, endpoint: str, n: int) -> None:
        if n <= 0:  # nothing read (or the day rolled over while parsing)
            return
        self.items_by_endpoint[endpoint] = self.items_by_endpoint.get(endpoint, 0) + n

    def items_total(self) -> int:
        return sum(self.items_read.values())

    def roll_to(self, today: date) -> None:
        """Start fresh counters when the UTC day changed."""
        if today != self.day:
            self.day = today
            self.requests_sent = self.cache_hits = self.singleflight_joins = 0
            self.items_read = {"users": 0, "posts": 0}
            self.requests_by_endpoint, self.items_by_endpoint = {}, {}
