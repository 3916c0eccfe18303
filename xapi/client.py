"""XClient: the X API v2 calls LikeLens makes, over the caller's one aiohttp session.

Per call: validate the input locally, pick the token the endpoint accepts, serve from the TTL
cache or share an identical in-flight request, refuse locally when the remembered rate budget is
spent, retry 5xx/connection failures with backoff inside the caller's deadline, and turn every
failure into an `xapi.errors` class. The request itself runs in `xapi.transport`, the answers
are shaped in `xapi.responses`, the endpoint table is `xapi.endpoints`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import aiohttp

from xapi import errors
from xapi.auth import AnyAuth, BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.caching import TTLCache
from xapi.endpoints import ENDPOINTS, Endpoint
from xapi.fields import NAMING_FIELDS, FieldNaming
from xapi.models import Page, Post, User
from xapi.parsing import parse_post, parse_user
from xapi.ratelimit import BudgetLedger, RateBudget, RateBudgets, utc
from xapi.responses import ResponseShaper
from xapi.stats import ClientStats
from xapi.transport import Transport
from xapi.validation import check_id, check_ids, check_max_results, check_token, check_username

# The endpoint table moved to xapi.endpoints; still importable from here (tests/xapi/test_faults.py).
__all__ = ["ENDPOINTS", "MISSING_ANY_AUTH", "MISSING_USER_CONTEXT", "Endpoint", "XClient"]

R = TypeVar("R")

MISSING_USER_CONTEXT = (
    "This needs the X account's user context: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and "
    "X_ACCESS_TOKEN_SECRET (OAuth 1.0a), or X_CLIENT_ID and X_OAUTH2_REFRESH_TOKEN (OAuth 2.0)."
)
MISSING_ANY_AUTH = MISSING_USER_CONTEXT[:-1] + ", or X_BEARER_TOKEN for public lookups."


class XClient:
    """Async X API v2 client for LikeLens; raises only `xapi.errors` classes.

    `deadline` is each call's total time in seconds (retries included), overridable per call.
    Lookups that accept app-only auth use `bearer` when given, sparing the account's budget.
    `clock` (Unix seconds) drives the cache's TTL, rate-budget resets and the per-day counters.
    `cache` lets clients of several tokens share one bounded cache (its own TTL and size then apply);
    entries are keyed by token identity, so one token never gets an answer X gave another.
    `budget_ledger` shares the rate budgets with other processes (store/x_budgets.py); without it
    they live in this client's memory only.
    """

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str = "https://api.x.com",
        user_auth: OAuth1UserAuth | OAuth2UserAuth | None = None, bearer: BearerAuth | None = None,
        field_naming: FieldNaming = "tweet", cache_ttl: float = 60.0, cache_size: int = 1024,
        deadline: float = 10.0, clock: Callable[[], float] = time.time, cache: TTLCache[Any] | None = None,
        budget_ledger: BudgetLedger | None = None,
    ) -> None:
        if field_naming not in NAMING_FIELDS:
            raise errors.InvalidInput("field_naming must be 'tweet' or 'post'.")
        self._user_auth = user_auth
        self._bearer = bearer
        self._fields = NAMING_FIELDS[field_naming]
        self._clock = clock
        shared_cache: TTLCache[Any] = cache if cache is not None else TTLCache(
            ttl=cache_ttl, max_size=cache_size, clock=clock)
        self._budgets = RateBudgets()
        self._stats = ClientStats(day=utc(clock()).date())
        self._transport = Transport(
            session, base_url=base_url.rstrip("/"), cache=shared_cache, budgets=self._budgets,
            deadline=deadline, clock=clock, stats=lambda: self.stats, redact=self._redact,
            ledger=budget_ledger,
        )
        self._answers = ResponseShaper(stats=lambda: self.stats, clock=clock)

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
        return await self._call(ep, path, params, deadline,
            lambda b: self._answers.page(b, parse_user, post_id), fresh=fresh)

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
        return await self._call(ep, path, params, deadline,
            lambda b: self._answers.page(b, parse_post, user_id), fresh=fresh)

    async def user_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]:
        """The user's recent posts, newest first (fresh=True: not from the cache, as liking_users)."""
        ep = ENDPOINTS["user_posts"]
        params = self._page_params(ep, max_results, pagination_token, self._fields.for_posts())
        path = ep.path.format(check_id(user_id, "user id"))
        return await self._call(ep, path, params, deadline,
            lambda b: self._answers.page(b, parse_post, user_id), fresh=fresh)

    async def user_by_username(self, username: str, *, deadline: float | None = None) -> User:
        """The user with this username (without the @)."""
        ep = ENDPOINTS["user_by_username"]
        path = ep.path.format(check_username(username))
        return await self._call(ep, path, self._fields.for_users(),
            deadline, lambda b: self._answers.one(b, parse_user))

    async def post(self, post_id: str, *, deadline: float | None = None, fresh: bool = False) -> Post:
        """One post by id (fresh=True: not from the cache, as liking_users)."""
        ep = ENDPOINTS["post"]
        path = ep.path.format(check_id(post_id, "post id"))
        return await self._call(ep, path, self._fields.for_posts(),
            deadline, lambda b: self._answers.one(b, parse_post), fresh=fresh)

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
        return await self._call(ep, ep.path, params, deadline, self._answers.batch, fresh=fresh)

    async def me(self, *, deadline: float | None = None) -> User:
        """The account the user-context token belongs to."""
        ep = ENDPOINTS["me"]
        return await self._call(ep, ep.path, self._fields.for_users(),
            deadline, lambda b: self._answers.one(b, parse_user))

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

    async def _call(
        self, ep: Endpoint, path: str, params: dict[str, str], deadline: float | None,
        parse: Callable[[Any], R], *, fresh: bool = False,
    ) -> R:
        auth = self._pick_auth(ep)
        if auth is None:
            raise errors.MissingUserContext(
                MISSING_USER_CONTEXT if ep.needs_user or self._bearer else MISSING_ANY_AUTH, endpoint=ep.name,
            )
        return await self._transport.call(ep, auth, path, params, deadline=deadline, parse=parse, fresh=fresh)

    # ---- secrets ----------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for auth in (self._user_auth, self._bearer):
            for secret in auth.secrets if auth else ():
                if len(secret) >= 4:
                    text = text.replace(secret, "[redacted]")
        return text
