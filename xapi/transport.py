"""One X API request end to end: cache, shared flight, budget refusal, retries, deadline, decoding."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import yarl

from xapi import errors
from xapi.auth import AnyAuth
from xapi.caching import SingleFlight, TTLCache, mark_retrieved
from xapi.endpoints import Endpoint
from xapi.problems import error_from_response
from xapi.ratelimit import BudgetLedger, RateBudget, RateBudgets, budget_from_headers
from xapi.stats import ClientStats

R = TypeVar("R")
T = TypeVar("T")
log = logging.getLogger("likelens.x")

_MAX_ATTEMPTS = 4
_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 2.0
_DEADLINE_GRACE = 0.05
# How long a request waits for the shared rate ledger, and how long this process then decides alone.
_LEDGER_WAIT = 1.0
_LEDGER_PAUSE = 30.0


class Transport:
    """Sends GET requests to X over the caller's session and turns every failure into `xapi.errors`.

    `deadline` is each call's default total time in seconds (retries included). `stats` returns
    today's counters; `redact` removes the configured tokens' secrets from any text shown.
    """

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str, cache: TTLCache[Any], budgets: RateBudgets,
        deadline: float, clock: Callable[[], float], stats: Callable[[], ClientStats],
        redact: Callable[[str], str], ledger: BudgetLedger | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url
        self._cache = cache
        self._flights: SingleFlight[Any] = SingleFlight()
        self._budgets = budgets
        self._ledger = ledger
        self._ledger_paused_until = 0.0
        self._deadline = deadline
        self._clock = clock
        self._stats = stats
        self._redact = redact

    def _url(self, path: str, params: dict[str, str]) -> str:
        # Encoded once here; the same string is signed and sent (aiohttp must not re-encode it).
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        return f"{self._base_url}{path}?{query}" if query else f"{self._base_url}{path}"

    async def call(
        self, ep: Endpoint, auth: AnyAuth, path: str, params: dict[str, str], *, deadline: float | None,
        parse: Callable[[Any], R], fresh: bool = False,
    ) -> R:
        """`parse` of X's answer to GET `path`?`params` with `auth`, from the cache unless `fresh`."""
        url = self._url(path, params)
        key: Hashable = (ep.name, url, auth.identity)
        # A fresh read skips the cache but still shares an identical request in flight (asked just now).
        cached = None if fresh else self._cache.get(key)
        if cached is not None:
            self._stats().cache_hits += 1
            return cached  # type: ignore[no-any-return]
        self._refuse_if_spent(ep, auth)
        budget_seconds = self._deadline if deadline is None else deadline
        if budget_seconds <= 0:
            raise errors.InvalidInput("deadline must be a positive number of seconds.")
        loop = asyncio.get_running_loop()
        deadline_at = loop.time() + budget_seconds
        try:
            # The fetch enforces the deadline itself; the grace only bounds a misbehaving one.
            async with asyncio.timeout_at(deadline_at + _DEADLINE_GRACE):
                while True:
                    try:
                        result, joined = await self._flights.run(
                            key, lambda: self._fetch(
                                ep, auth=auth, url=url, key=key, parse=parse, deadline_at=deadline_at),
                        )
                        break
                    except errors.Timeout:
                        # A shared request that ran out of its first caller's (shorter) time: try again.
                        if loop.time() >= deadline_at - _DEADLINE_GRACE:
                            raise
        except TimeoutError:
            raise self._scrub(errors.Timeout(
                f"X did not answer {ep.name} within {budget_seconds:g} s.", endpoint=ep.name,
            )) from None
        except errors.XApiError as exc:
            if exc.endpoint is None:
                exc.endpoint = ep.name
            raise self._scrub(exc) from exc.__cause__
        if joined:
            self._stats().singleflight_joins += 1
        return result  # type: ignore[no-any-return]

    def _refuse_if_spent(self, ep: Endpoint, auth: AnyAuth) -> None:
        budget = self._budgets.get(ep.name, auth.identity)
        if budget is not None and budget.spent(self._clock()):
            raise _refusal(ep, budget)

    async def _take(self, ep: Endpoint, auth: AnyAuth) -> None:
        """Before each request: the shared ledger takes one unit (or refuses); else this memory decides."""
        ledger = self._ledger
        taken = None if ledger is None else await self._shared(
            ep, lambda: ledger.take(ep.name, auth.identity, now=self._clock()))
        if taken is None:
            self._refuse_if_spent(ep, auth)
            return
        if taken.budget is not None:
            self._budgets.put(auth.identity, taken.budget)
        if not taken.allowed:
            assert taken.budget is not None
            raise _refusal(ep, taken.budget)

    async def _record(self, ep: Endpoint, auth: AnyAuth, budget: RateBudget | None) -> None:
        """What X said of the window: into the shared ledger (its rules decide what stands) and memory."""
        if budget is None:
            return
        ledger = self._ledger
        if ledger is not None:
            told = budget
            budget = await self._shared(ep, lambda: ledger.record(ep.name, auth.identity, told)) or budget
        self._budgets.put(auth.identity, budget)

    async def _shared(self, ep: Endpoint, step: Callable[[], Awaitable[T]]) -> T | None:
        """The ledger's answer, or None when it failed or was slow (then this memory decides, for a while).

        A slow step is left to finish on its own, never cancelled (a store write must not stop halfway).
        """
        loop = asyncio.get_running_loop()
        if loop.time() < self._ledger_paused_until:
            return None
        task = asyncio.ensure_future(step())
        task.add_done_callback(mark_retrieved)
        done, _ = await asyncio.wait({task}, timeout=_LEDGER_WAIT)
        if task in done and task.exception() is None:
            return task.result()
        # A locked or unreachable database costs the shared count, never the caller's answer.
        self._ledger_paused_until = loop.time() + _LEDGER_PAUSE
        why = "too slow" if task not in done else type(task.exception()).__name__
        log.warning("The shared X rate budgets did not answer for %s (%s): this process decides alone %g s",
                    ep.name, why, _LEDGER_PAUSE)
        return None

    async def _fetch(
        self, ep: Endpoint, *, auth: AnyAuth, url: str, key: Hashable, parse: Callable[[Any], R],
        deadline_at: float,
    ) -> R:
        failures: list[errors.XApiError] = []
        try:
            async with asyncio.timeout_at(deadline_at):
                return await self._attempts(
                    ep, auth=auth, url=url, key=key, parse=parse, deadline_at=deadline_at, failures=failures,
                )
        except TimeoutError:
            # Out of time while retrying: what X said last tells more than "timeout".
            if failures:
                raise failures[-1] from None
            raise errors.Timeout(
                f"X did not answer {ep.name} before the deadline.", endpoint=ep.name,
            ) from None

    async def _attempts(
        self, ep: Endpoint, *, auth: AnyAuth, url: str, key: Hashable, parse: Callable[[Any], R],
        deadline_at: float, failures: list[errors.XApiError],
    ) -> R:
        loop = asyncio.get_running_loop()
        refreshed = False
        attempt = 0
        while True:
            await self._take(ep, auth)
            header = await auth.authorization(self._session, self._base_url, "GET", url)
            self._stats().count_request(ep.name)
            try:
                async with self._session.get(
                    yarl.URL(url, encoded=True), headers={"Authorization": header}, allow_redirects=False,
                ) as response:
                    status, headers = response.status, response.headers
                    text = await response.text(errors="replace")
            except (aiohttp.ClientError, OSError) as exc:
                failure: errors.XApiError = errors.ServerError(
                    f"The connection to X failed during {ep.name}.", endpoint=ep.name,
                )
                failure.__cause__ = exc
            else:
                await self._record(ep, auth, budget_from_headers(ep.name, headers))
                if status == 200:
                    items_before = self._stats().items_total()
                    result = parse(_decode(text, ep.name))
                    self._stats().count_items(ep.name, self._stats().items_total() - items_before)
                    self._cache.put(key, result)
                    return result
                if status == 401 and not refreshed and await auth.after_unauthorized(
                        self._session, self._base_url, header):
                    refreshed = True
                    continue
                failure = error_from_response(
                    status, text, headers, endpoint=ep.name, now=self._clock(), redact=self._redact)
                if isinstance(failure, errors.RateLimited):
                    known = self._budgets.get(ep.name, auth.identity)
                    spent = RateBudget(ep.name, known.limit if known else 0, 0, failure.reset_at)
                    await self._record(ep, auth, spent)
                if status < 500:
                    raise failure
            failures.append(failure)
            attempt += 1
            delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            # Never sleep past the caller's deadline: fail with what X said instead.
            if attempt >= _MAX_ATTEMPTS or loop.time() + delay >= deadline_at:
                raise failure
            await asyncio.sleep(delay)

    def _scrub(self, exc: errors.XApiError) -> errors.XApiError:
        message = self._redact(exc.message)
        if message != exc.message:
            exc.message = message
            exc.args = (message,)
        return exc


def _refusal(ep: Endpoint, budget: RateBudget) -> errors.RateLimited:
    return errors.RateLimited(
        f"The X rate limit for {ep.name} is spent until {budget.reset_at:%H:%M:%S} UTC; "
        "nothing was sent.", endpoint=ep.name, status=None, reset_at=budget.reset_at, sent=False,
    )


def _decode(text: str, endpoint: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise errors.UndecodableResponse(
            f"X answered {endpoint} with a body that is not valid JSON.", endpoint=endpoint, status=200,
        ) from None
