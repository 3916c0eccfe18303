"""The sandbox's record of what it received and answered, for tests and spec checks."""

from __future__ import annotations

from collections import deque
from collections.abc import MutableSequence
from dataclasses import dataclass
from typing import Any

from xapi.sandbox.auth import AuthKind
from xapi.sandbox.data import Naming


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One request the sandbox received and the status it answered (0: connection dropped)."""

    method: str
    path: str
    query: dict[str, str]
    auth_kind: AuthKind
    status: int
    # The JSON request body (POST /2/activity/subscriptions), for checking it against the spec.
    body: Any = None


@dataclass(frozen=True, slots=True)
class SandboxExchange:
    """A request with the JSON body the sandbox answered, for checking answers against X's spec."""

    request: SandboxRequest
    naming: Naming
    content_type: str
    # None when the body was not JSON (HTML error page, truncated JSON, dropped connection).
    body: Any


class RequestLog:
    """Every request in arrival order, updated with its answer; optionally with answer bodies."""

    def __init__(self, *, record_bodies: bool, size: int) -> None:
        # A long-running sandbox (standalone, benchmarks) keeps no answer bodies, so memory stays flat.
        self.record_bodies = record_bodies
        # Every request in order; without bodies (long runs) only the latest `size`.
        self.requests: MutableSequence[SandboxRequest] = [] if record_bodies else deque(maxlen=max(1, size))
        self.exchanges: list[SandboxExchange] = []
        # Requests logged so far, pushed-out ones included: turns an arrival number into a row.
        self._logged = 0

    def arrived(self, record: SandboxRequest) -> int:
        """Append `record` to the request log; returns its arrival number."""
        self.requests.append(record)
        self._logged += 1
        return self._logged - 1

    def answered(
        self, slot: int, auth_kind: AuthKind, status: int, *, naming: Naming, content_type: str, body: Any,
    ) -> None:
        """Complete the row of arrival `slot` with how it was answered."""
        row = slot - (self._logged - len(self.requests))
        if row < 0:
            return  # pushed out of the bounded log before its answer was ready
        arrived = self.requests[row]
        record = SandboxRequest(arrived.method, arrived.path, arrived.query, auth_kind, status, arrived.body)
        self.requests[row] = record
        if self.record_bodies:
            self.exchanges.append(SandboxExchange(record, naming, content_type, body))

    def streamed(self, record: SandboxRequest, body: Any) -> None:
        """One JSON object sent on an open stream (`record` is the stream's request), spec-checked as
        an answer of its own."""
        if self.record_bodies:
            self.exchanges.append(SandboxExchange(record, "tweet", "application/json", body))

    def replace_last_body(self, body: Any) -> None:
        """The body the client really got differs from the one recorded (a truncated answer)."""
        if not self.exchanges:
            return
        last = self.exchanges[-1]
        self.exchanges[-1] = SandboxExchange(last.request, last.naming, last.content_type, body)
