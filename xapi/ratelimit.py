"""Rate budgets per (endpoint, token identity), remembered from X's `x-rate-limit-*` headers.

`RateBudgets` is one client's memory of them (what `XClient.budget` shows). A `BudgetLedger` shares
them between processes (store/x_budgets.py keeps one in the database): before each request one unit
is taken from the window atomically, and X's answers are recorded there, so N processes on one
token never send more than one process would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

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


@dataclass(frozen=True, slots=True)
class Take:
    """A ledger's answer before a request: send it or not, and the budget in force (None: none known)."""

    allowed: bool
    budget: RateBudget | None


class BudgetLedger(Protocol):
    """Rate budgets every process of a deployment shares (atomic updates)."""

    async def take(self, endpoint: str, identity: str, *, now: float) -> Take:
        """Take one request from the window: refused only while the window is known spent and not reset."""
        ...

    async def record(self, endpoint: str, identity: str, budget: RateBudget) -> RateBudget | None:
        """Record what X said; an older window never replaces a newer one, and within one window
        the smaller count stands. Returns the budget now in force."""
        ...


def budget_from_headers(endpoint: str, headers: Mapping[str, str]) -> RateBudget | None:
    """The budget an answer's x-rate-limit-* headers tell (None when absent or malformed)."""
    reset_at = reset_time(headers)
    try:
        limit = int(headers["x-rate-limit-limit"])
        remaining = int(headers["x-rate-limit-remaining"])
    except (KeyError, ValueError):
        return None
    if reset_at is None:
        return None
    return RateBudget(endpoint, limit, max(remaining, 0), reset_at)


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

    def put(self, identity: str, budget: RateBudget) -> None:
        """Remember `budget` as it is (what a shared ledger says is in force)."""
        self._budgets[(budget.endpoint, identity)] = budget


def utc(ts: float) -> datetime:
    """A Unix time as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)
