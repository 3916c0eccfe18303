"""Rate budgets per (endpoint, token identity), remembered from X's `x-rate-limit-*` headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from xapi.problems import reset_time


@dataclass(frozen=True, slots=True)
class RateBudget:
    """What X said is left of one endpoint's window for one token."""

    endpoint: str
    limit: int
    remaining: int
    reset_at: datetime

    def spent(self, now: float) -> bool:
        """True while the window is spent and not yet reset."""
        return self.remaining <= 0 and now < self.reset_at.timestamp()


class RateBudgets:
    """The latest budget per (endpoint, token identity)."""

    def __init__(self) -> None:
        self._budgets: dict[tuple[str, str], RateBudget] = {}

    def get(self, endpoint: str, identity: str) -> RateBudget | None:
        """The remembered budget, or None if X never told us."""
        return self._budgets.get((endpoint, identity))

    def all_for(self, identities: set[str]) -> list[RateBudget]:
        """Every remembered budget of the given token identities, sorted by endpoint."""
        found = [b for (_, ident), b in self._budgets.items() if ident in identities]
        return sorted(found, key=lambda b: b.endpoint)

    def update(self, endpoint: str, identity: str, headers: Mapping[str, str]) -> None:
        """Remember the budget from an answer's headers (ignored when they are absent or malformed)."""
        reset_at = reset_time(headers)
        try:
            limit = int(headers["x-rate-limit-limit"])
            remaining = int(headers["x-rate-limit-remaining"])
        except (KeyError, ValueError):
            return
        if reset_at is None:
            return
        self._budgets[(endpoint, identity)] = RateBudget(endpoint, limit, max(remaining, 0), reset_at)

    def mark_spent(self, endpoint: str, identity: str, reset_at: datetime) -> None:
        """Record a 429: nothing left until `reset_at`."""
        old = self._budgets.get((endpoint, identity))
        self._budgets[(endpoint, identity)] = RateBudget(endpoint, old.limit if old else 0, 0, reset_at)


def utc(ts: float) -> datetime:
    """A Unix time as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)
