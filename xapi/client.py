"""XClient: the X API v2 calls LikeLens makes, over the caller's one aiohttp session.

Per call: validate the input locally, pick the token the endpoint accepts, serve from the TTL
cache or share an identical in-flight request, refuse locally when the remembered rate budget is
spent, retry 5xx/connection failures with backoff inside the caller's deadline, and turn every
failure into an `xapi.errors` class.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiohttp
import yarl

from xapi import errors
from xapi.auth import AnyAuth, BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.caching import SingleFlight, TTLCache
from xapi.fields import NAMING_FIELDS, FieldNaming
from xapi.models import ItemT, Page, PartialError, Post, User
from xapi.parsing import parse_page, parse_post, parse_single, parse_user
from xapi.problems import error_class_for, error_from_response, make_error
from xapi.ratelimit import RateBudget, RateBudgets, utc
from xapi.stats import ClientStats
from xapi.validation import check_id, check_ids, check_max_results, check_token, check_username

R = TypeVar("R")

MISSING_USER_CONTEXT = (
    "This needs the X account's user context: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
    "X_ACCESS_TOKEN_SECRET (OAuth 1.0a), or X_CLIENT_ID and X_OAUTH2_REFRESH_TOKEN (OAuth 2.0)."
)
MISSING_ANY_AUTH = MISSING_USER_CONTEXT[:-1] + ", or X_BEARER_TOKEN for public lookups."


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One X endpoint LikeLens calls: its budget key, path template and rules."""

    name: str
    path: str
    needs_user: bool
    answers: Literal["users", "posts"]
    max_results: tuple[int, int] | None = None


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e for e in (
        Endpoint("liking_users", "/2/tweets/{}/liking_users", True, "users", (1, 100)),
        Endpoint("liked_posts", "/2/users/{}/liked_tweets", True, "posts", (5, 100)),
        Endpoint("user_posts", "/2/users/{}/tweets", False, "posts", (5, 100)),
        Endpoint("user_by_username", "/2/users/by/username/{}", False, "users"),
        Endpoint("post", "/2/tweets/{}", False, "posts"),
        Endpoint("posts", "/2/tweets", False, "posts"),
        Endpoint("me", "/2/users/me", True, "users"),
    )
}

_MAX_ATTEMPTS = 4
_BACKOFF_BASE = 0.25
_BACKOFF_CAP = 2.0
_DEADLINE_GRACE = 0.05


class XClient:
    """Async X API v2 client for LikeLens; raises only `xapi.errors` classes.

    `deadline` is each call's total time in seconds (retries included), overridable per call.
    Lookups that accept app-only auth use `bearer` when given, sparing the account's budget.
    `clock` (Unix seconds) drives the cache's TTL, rate-budget resets and the per-day counters.
    `cache` lets clients of several tokens share one bounded cache (its own TTL and size then apply);
    entries are keyed by token identity, so one token never gets an answer X gave another.
    """

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str = "https://api.x.com",
        user_auth: OAuth1UserAuth | OAuth2UserAuth | None = None, bearer: BearerAuth | None = None,
        field_naming: FieldNaming = "tweet", cache_ttl: float = 60.0, cache_size: int = 1024,
        deadline: float = 10.0, clock: Callable[[], float] = time.time, cache: TTLCache[Any] | None = None,
    ) -> None:
        if field_naming not in NAMING_FIELDS:
            raise errors.InvalidInput("field_naming must be 'tweet' or 'post'.")
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._user_auth = user_auth
        self._bearer = bearer
        self._fields = NAMING_FIELDS[field_naming]
        self._deadline = deadline
        self._clock = clock
        self._cache: TTLCache[Any] = cache if cache is not None else TTLCache(
            ttl=cache_ttl, max_size=cache_size, clock=clock)
        self._flights: SingleFlight[Any] = SingleFlight()
        self._budgets = RateBudgets()
        self._stats = ClientStats(day=utc(clock()).date())

    # ---- public calls -------------------------------------------------------------------

    async def liking_users(
        self, post_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[User]:
        """Users who liked one of the connected account's posts (at most 100 ever, as X gives).

        fresh=True asks X even when the cache holds this page (the answer is cached as usual).
        """
        ep = ENDPOINTS["liking_users"]
        params = self._page_params(ep, max_results, pagination_token, self._fields.for_users())
        path = ep.path.format(check_id(post_id, "post id"))
        return await self._call(ep, path, params, deadline, lambda b: self._page(b, parse_user, post_id),
                                fresh=fresh)

    async def liked_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        """Posts the user liked (X only answers for the token's own account), newest like first.

        fresh=True asks X even when the cache holds this page (the answer is cached as usual).
        """
        ep = ENDPOINTS["liked_posts"]
        params = self._page_params(ep, max_results, pagination_token, self._fields.for_posts())
        path = ep.path.format(check_id(user_id, "user id"))
        return await self._call(ep, path, params, deadline, lambda b: self._page(b, parse_post, user_id),
                                fresh=fresh)

    async def user_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        """The user's recent posts, newest first (fresh=True: not from the cache, as liking_users)."""
        ep = ENDPOINTS["user_posts"]
        params = self._page_params(ep, max_results, pagination_token, self._fields.for_posts())
        path = ep.path.format(check_id(user_id, "user id"))
        return await self._call(ep, path, params, deadline, lambda b: self._page(b, parse_post, user_id),
                                fresh=fresh)

    async def user_by_username(self, username: str, *, deadline: float | None = None) -> User:
        """The user with this username (without the @)."""
        ep = ENDPOINTS["user_by_username"]
        path = ep.path.format(check_username(username))
        return await self._call(ep, path, self._fields.for_users(),
            deadline, lambda b: self._one(b, parse_user))

    async def post(self, post_id: str, *, deadline: float | None = None, fresh: bool = False) -> Post:
        """One post by id (fresh=True: not from the cache, as liking_users)."""
        ep = ENDPOINTS["post"]
        path = ep.path.format(check_id(post_id, "post id"))
        return await self._call(ep, path, self._fields.for_posts(),
            deadline, lambda b: self._one(b, parse_post), fresh=fresh)

    async def posts(
        self, post_ids: Sequence[str], *, deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        """Up to 100 posts by id in one request (duplicates are sent once), in X's order.

        Ids X cannot return (deleted, unknown, protected) are the page's partial `errors`, not raised.
        fresh=True: not from the cache, as liking_users.
        """
        ep = ENDPOINTS["posts"]
        ids = check_ids(post_ids, "post id")
        params = {"ids": ",".join(ids)} | self._fields.for_posts()
        return await self._call(ep, ep.path, params, deadline, self._batch, fresh=fresh)

    async def me(self, *, deadline: float | None = None) -> User:
        """The account the user-context token belongs to."""
        ep = ENDPOINTS["me"]
        return await self._call(ep, ep.path, self._fields.for_users(),
            deadline, lambda b: self._one(b, parse_user))

    @property
    def stats(self) -> ClientStats:
        """Today's (UTC) counters."""
        self._stats.roll_to(utc(self._clock()).date())
        return self._stats

    def budget(self, endpoint: str) -> RateBudget | None:
        """The remembered rate budget of `endpoint` for the token the client uses there."""
        ep = ENDPOINTS.get(endpoint)
        auth = self._pick_auth(ep) if ep else None
        return self._budgets.get(endpoint, auth.identity) if ep and auth else None

    def notices(self) -> tuple[str, ...]:
        """What the operator must know about the configured tokens now (e.g. one not saved yet)."""
        return tuple(n for a in (self._user_auth, self._bearer) if a for n in a.notices())

    def budgets(self) -> list[RateBudget]:
        """Every remembered rate budget of the configured tokens."""
        return self._budgets.all_for({a.identity for a in (self._user_auth, self._bearer) if a})

    # ---- request pipeline ---------------------------------------------------------------

    def _page_params(
        self, ep: Endpoint, max_results: int, token: str | None, fields: dict[str, str],
    ) -> dict[str, str]:
        assert ep.max_results is not None
        params = {"max_results": str(check_max_results(max_results, *ep.max_results))}
        if check_token(token) is not None:
            params["pagination_token"] = str(token)
        return params | fields

    def _pick_auth(self, ep: Endpoint) -> AnyAuth | None:
        if ep.needs_user:
            return self._user_auth
        # App-only lookups spend the app's budget, sparing the account's user budget.
        return self._bearer or self._user_auth

    def _url(self, path: str, params: dict[str, str]) -> str:
        # Encoded once here; the same string is signed and sent (aiohttp must not re-encode it).
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        return f"{self._base_url}{path}?{query}" if query else f"{self._base_url}{path}"

    async def _call(
        self, ep: Endpoint, path: str, params: dict[str, str], deadline: float | None,
        parse: Callable[[Any], R], *, fresh: bool = False,
    ) -> R:
        auth = self._pick_auth(ep)
        if auth is None:
            raise errors.MissingUserContext(
                MISSING_USER_CONTEXT if ep.needs_user or self._bearer else MISSING_ANY_AUTH, endpoint=ep.name,
            )
        url = self._url(path, params)
        key: Hashable = (ep.name, url, auth.identity)
        # A fresh read skips the cache but still shares an identical request in flight (asked just now).
        cached = None if fresh else self._cache.get(key)
        if cached is not None:
            self.stats.cache_hits += 1
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
            self.stats.singleflight_joins += 1
        return result  # type: ignore[no-any-return]

    def _refuse_if_spent(self, ep: Endpoint, auth: AnyAuth) -> None:
        budget = self._budgets.get(ep.name, auth.identity)
        if budget is not None and budget.spent(self._clock()):
            raise errors.RateLimited(
                f"The X rate limit for {ep.name} is spent until {budget.reset_at:%H:%M:%S} UTC; "
                "nothing was sent.", endpoint=ep.name, status=None, reset_at=budget.reset_at, sent=False,
            )

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
            self._refuse_if_spent(ep, auth)
            header = await auth.authorization(self._session, self._base_url, "GET", url)
            self.stats.count_request(ep.name)
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
                self._budgets.update(ep.name, auth.identity, headers)
                if status == 200:
                    items_before = self.stats.items_total()
                    result = parse(_decode(text, ep.name))
                    self.stats.count_items(ep.name, self.stats.items_total() - items_before)
                    self._cache.put(key, result)
                    return result
                if status == 401 and not refreshed and await auth.after_unauthorized(
                        self._session, self._base_url, header):
                    refreshed = True
                    continue
                failure = error_from_response(
                    status, text, headers, endpoint=ep.name, now=self._clock(), redact=self._redact)
                if isinstance(failure, errors.RateLimited):
                    self._budgets.mark_spent(ep.name, auth.identity, failure.reset_at)
                if status < 500:
                    raise failure
            failures.append(failure)
            attempt += 1
            delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
            # Never sleep past the caller's deadline: fail with what X said instead.
            if attempt >= _MAX_ATTEMPTS or loop.time() + delay >= deadline_at:
                raise failure
            await asyncio.sleep(delay)

    # ---- answers to models --------------------------------------------------------------

    def _count(self, kind: str, n: int) -> None:
        self.stats.items_read[kind] = self.stats.items_read.get(kind, 0) + n

    def _page(self, body: Any, parse_item: Callable[[object], Any], subject_id: str) -> Page[Any]:
        page: Page[Any] = parse_page(body, parse_item)
        if not page.items:
            _raise_for_subject(page.errors, subject_id)
        kind = "users" if parse_item is parse_user else "posts"
        self._count(kind, len(page.items))
        self._count("users", len(page.includes.users))
        self._count("posts", len(page.includes.posts))
        return page

    def _batch(self, body: Any) -> Page[Post]:
        # Unlike a subject's page, a batch with no post at all is still an answer: every id missing.
        page: Page[Post] = parse_page(body, parse_post)
        self._count("posts", len(page.items))
        self._count("users", len(page.includes.users))
        self._count("posts", len(page.includes.posts))
        return page

    def _one(self, body: Any, parse_item: Callable[[object], ItemT]) -> ItemT:
        item, includes = parse_single(body, parse_item, now=self._clock())
        self._count("users" if isinstance(item, User) else "posts", 1)
        self._count("users", len(includes.users))
        self._count("posts", len(includes.posts))
        return item

    def _redact(self, text: str) -> str:
        for auth in (self._user_auth, self._bearer):
            for secret in auth.secrets if auth else ():
                if len(secret) >= 4:
                    text = text.replace(secret, "[redacted]")
        return text

    def _scrub(self, exc: errors.XApiError) -> errors.XApiError:
        message = self._redact(exc.message)
        if message != exc.message:
            exc.message = message
            exc.args = (message,)
        return exc


def _decode(text: str, endpoint: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise errors.UndecodableResponse(
            f"X answered {endpoint} with a body that is not valid JSON.", endpoint=endpoint, status=200,
        ) from None


def _raise_for_subject(problems: tuple[PartialError, ...], subject_id: str) -> None:
    # An empty page whose errors name the requested post/user means X refused that subject.
    for problem in problems:
        if problem.resource_id == subject_id and problem.kind in (
                "resource-not-found", "not-authorized-for-resource"):
            raise make_error(error_class_for(problem.kind, None),
                f"X could not return {problem.resource_type or 'resource'} {subject_id}: "
                f"{problem.title or problem.kind}"[:240],
            )

