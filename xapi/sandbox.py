"""A local X API v2 server (aiohttp.web) with seeded data, X's auth rules, rate limits and fault switches.

Tests, benchmarks and new users run LikeLens against it: `python -m xapi.sandbox --port 8088`.
It serves the seven GET endpoints LikeLens uses and `POST /2/oauth2/token`, and answers in the shape
X's OpenAPI spec documents (both the `tweet` and the `post` field naming).

Seeded world (same ids every run): the owner @likelens_demo (OWNER_ID) with recent posts
POST_NO_LIKES, POST_7_LIKES, POST_100_LIKES and POST_MANY_LIKES (like_count 140, 100 likers
returned); POST_DELETED answers resource-not-found; POST_OTHER_ACCOUNT belongs to USER_OTHER_ID,
whose likes are not ours to see; USER_PROTECTED_ID and USER_SUSPENDED_ID; the owner liked 250 posts.

Rules like X's: an app-only bearer on the likes endpoints or /2/users/me gets 403
unsupported-authentication; likes of another account get 403 not-authorized-for-resource; a bad
OAuth 1.0a signature gets X's legacy code-32 body; an unknown token gets 401; max_results outside the
endpoint's range, unknown parameters or fields get 400 invalid-request. Each (endpoint, token) has a
window budget (default 75 per 15 minutes) reported in x-rate-limit-* headers, then 429.
Tests flip `XSandbox.faults` (SandboxFaults) and call `add_likers`/`add_liked_posts` at run time;
the fault switches apply to the seven GET endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableSequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from xapi.sandbox_auth import (
    OAUTH2_SCOPE,
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_ACCESS_TOKEN_SECRET,
    SANDBOX_API_KEY,
    SANDBOX_API_SECRET,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    AuthKind,
    Caller,
    OAuth2Tokens,
    SandboxAuthenticator,
    parse_basic_auth,
)
from xapi.sandbox_data import (
    OWNER_ID,
    OWNER_USERNAME,
    POST_7_LIKES,
    POST_100_LIKES,
    POST_DELETED,
    POST_MANY_LIKES,
    POST_NO_LIKES,
    POST_OTHER_ACCOUNT,
    POST_OWNER_PINNED,
    USER_OTHER_ID,
    USER_OTHER_USERNAME,
    USER_PROTECTED_ID,
    USER_PROTECTED_USERNAME,
    USER_SUSPENDED_ID,
    USER_SUSPENDED_USERNAME,
    JsonObject,
    Naming,
    SandboxWorld,
    SeedPost,
    SeedUser,
    build_world,
    post_json,
    user_json,
)
from xapi.sandbox_pages import cut_page, decode_token, encode_token
from xapi.sandbox_params import (
    ENDPOINTS,
    EndpointRules,
    ParsedQuery,
    QueryError,
    detect_naming,
    parse_ids,
    parse_query,
)
from xapi.sandbox_problems import (
    HTML_ERROR,
    Answer,
    Refused,
    forbidden,
    invalid_request,
    not_found,
    partial,
    problem,
)
from xapi.validation import ID_PATTERN, USERNAME_PATTERN

__all__ = [
    "OWNER_ID", "OWNER_USERNAME", "POST_7_LIKES", "POST_100_LIKES", "POST_DELETED", "POST_MANY_LIKES",
    "POST_NO_LIKES", "POST_OTHER_ACCOUNT", "POST_OWNER_PINNED", "SANDBOX_ACCESS_TOKEN",
    "SANDBOX_ACCESS_TOKEN_SECRET", "SANDBOX_API_KEY", "SANDBOX_API_SECRET", "SANDBOX_BEARER_TOKEN",
    "SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "SANDBOX_REFRESH_TOKEN", "USER_OTHER_ID",
    "USER_OTHER_USERNAME", "USER_PROTECTED_ID", "USER_PROTECTED_USERNAME", "USER_SUSPENDED_ID",
    "USER_SUSPENDED_USERNAME", "SandboxExchange", "SandboxFaults", "SandboxRequest", "XSandbox",
]

log = logging.getLogger(__name__)

# The expanded post the `partial_errors` fault says X could not return.
_MISSING_POST_ID = "1869999999999999999"
@dataclass(slots=True)
class SandboxFaults:
    """Switches tests flip at run time to make the sandbox misbehave like X sometimes does."""

    latency_seconds: float = 0.0
    # Share of requests answered 503, deterministic: every round(1/ratio)-th request.
    server_error_ratio: float = 0.0
    malformed_json: bool = False
    html_errors: bool = False
    reset_connections: bool = False
    usage_capped: bool = False
    # 200 answers with a list of data also carry one partial error (an expanded post X could not return).
    partial_errors: bool = False
    # 400 problems whose `detail` quotes the request's Authorization header (a careless proxy or gateway).
    echo_authorization: bool = False


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One request the sandbox received and the status it answered (0: connection dropped)."""

    method: str
    path: str
    query: dict[str, str]
    auth_kind: AuthKind
    status: int


@dataclass(frozen=True, slots=True)
class SandboxExchange:
    """A request with the JSON body the sandbox answered, for checking answers against X's spec."""

    request: SandboxRequest
    naming: Naming
    content_type: str
    # None when the body was not JSON (HTML error page, truncated JSON, dropped connection).
    body: Any


class XSandbox:
    """The local X API: seeded world, auth, rate budgets, fault switches and a request log."""

    def __init__(
        self, *, rate_limit: int = 75, window_seconds: int = 900, clock: Callable[[], float] = time.time,
        access_token_lifetime: int = 7200, rate_limits: Mapping[str, int] | None = None,
        record_bodies: bool = True, request_log_size: int = 10_000,
    ) -> None:
        self.rate_limit = rate_limit
        # A long-running sandbox (standalone, benchmarks) keeps no answer bodies, so memory stays flat.
        self.record_bodies = record_bodies
        # Per-endpoint overrides of `rate_limit`, keyed like ENDPOINTS ("liking_users", "me", ...).
        self.rate_limits = dict(rate_limits or {})
        self.window_seconds = window_seconds
        self.clock = clock
        self.faults = SandboxFaults()
        # Every request in order; without bodies (long runs) only the latest `request_log_size`.
        self.requests: MutableSequence[SandboxRequest] = (
            [] if record_bodies else deque(maxlen=max(1, request_log_size)))
        # Requests logged so far, pushed-out ones included: turns an arrival number into a row.
        self._logged = 0
        self.exchanges: list[SandboxExchange] = []
        self.world: SandboxWorld = build_world(datetime.fromtimestamp(clock(), UTC))
        self.oauth2 = OAuth2Tokens(clock=clock, access_token_lifetime=access_token_lifetime)
        self.authenticator = SandboxAuthenticator(self.oauth2)
        # (endpoint key, caller identity) -> [window end, requests used in the window]
        self._budgets: dict[tuple[str, str], list[float]] = {}
        self._fault_counter = 0
        self._runner: web.AppRunner | None = None
        # Set by start(): http://127.0.0.1:PORT
        self.base_url = ""

    # ----- run-time changes the tests and digests need -----

    def add_likers(self, post_id: str, count: int) -> list[str]:
        """`count` new accounts like `post_id` now; returns their ids (they come first in answers)."""
        if post_id not in self.world.posts:
            raise ValueError(f"the sandbox has no post {post_id}")
        rng = random.Random(f"likers-{post_id}-{self.world.like_seq}")
        now = datetime.fromtimestamp(self.clock(), UTC)
        added = []
        for _ in range(count):
            fan = self.world.new_fan(rng, now)
            self.world.like(post_id, fan.id)
            added.append(fan.id)
        self.world.posts[post_id].like_count += count
        return list(reversed(added))

    def add_liked_posts(self, count: int) -> list[str]:
        """The owner likes `count` new posts now; returns their ids, newest like first."""
        rng = random.Random(f"liked-{self.world.like_seq}")
        now = datetime.fromtimestamp(self.clock(), UTC)
        authors = [u for u in self.world.users.values() if u.username.startswith("fan_")]
        added = []
        for index in range(count):
            author = authors[(self.world.next_post_number + index) % len(authors)]
            post = self.world.new_post(rng, author.id, now)
            self.world.owner_like(post.id)
            added.append(post.id)
        self.world.users[OWNER_ID].like_count += count
        return list(reversed(added))

    @property
    def refresh_token(self) -> str:
        """The OAuth 2.0 refresh token that works now (it rotates on every refresh)."""
        return self.oauth2.refresh_token

    def revoke_tokens(self) -> None:
        """Invalidate every OAuth 2.0 access token, as if the user revoked the app."""
        self.oauth2.revoke_all()

    def _log(self, record: SandboxRequest) -> int:
        """Append `record` to the request log; returns its arrival number."""
        self.requests.append(record)
        self._logged += 1
        return self._logged - 1

    def requests_to(self, path_fragment: str) -> list[SandboxRequest]:
        """The requests whose path contains `path_fragment`, in order."""
        return [r for r in self.requests if path_fragment in r.path]

    # ----- server lifecycle -----

    def make_app(self) -> web.Application:
        """The aiohttp application serving the sandbox's endpoints."""
        app = web.Application()
        app.router.add_get("/2/tweets/{id}/liking_users", self._route("liking_users", self._liking_users))
        app.router.add_get("/2/users/{id}/liked_tweets", self._route("liked_posts", self._liked_posts))
        app.router.add_get("/2/users/{id}/tweets", self._route("user_posts", self._user_posts))
        app.router.add_get("/2/users/by/username/{username}",
                           self._route("user_by_username", self._user_by_username))
        app.router.add_get("/2/users/me", self._route("me", self._me))
        app.router.add_get("/2/tweets/{id}", self._route("post", self._post))
        app.router.add_get("/2/tweets", self._route("posts", self._posts))
        app.router.add_post("/2/oauth2/token", self._token)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL."""
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and isinstance(server, asyncio.base_events.Server)
        bound_port = server.sockets[0].getsockname()[1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def close(self) -> None:
        """Stop serving and drop open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> XSandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ----- the request pipeline shared by the seven GET endpoints -----

    def _route(
        self, key: str, handler: Callable[[web.Request, Caller, ParsedQuery], Answer],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        rules = ENDPOINTS[key]

        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, rules, handler)

        return serve

    async def _serve(
        self, request: web.Request, rules: EndpointRules,
        handler: Callable[[web.Request, Caller, ParsedQuery], Answer],
    ) -> web.StreamResponse:
        query = dict(request.query)
        # Logged on arrival, so a request the client gave up on during added latency still shows.
        presented = self.authenticator.kind_of(request.headers)
        slot = self._log(SandboxRequest(request.method, request.path, query, presented, 0))
        faults = self.faults
        if faults.latency_seconds > 0:
            await asyncio.sleep(faults.latency_seconds)
        try:
            naming = detect_naming(query)
        except QueryError:
            naming = "tweet"
        if faults.reset_connections:
            self._record(slot, presented, 0, naming=naming, content_type="", body=None)
            if request.transport is not None:
                request.transport.abort()
            # The connection is gone: aiohttp drops whatever is returned.
            return web.Response(status=500)
        # The URL exactly as the client sent it: the OAuth 1.0a signature covers these bytes.
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        caller = self.authenticator.identify(request.method, url, request.headers)
        headers: dict[str, str] = {}
        try:
            answer = self._answer(request, rules, caller, query, handler=handler, headers=headers)
        except Refused as refused:
            answer = refused.answer
        return self._respond(slot, caller.kind, naming=naming, answer=answer, headers=headers)

    def _answer(
        self, request: web.Request, rules: EndpointRules, caller: Caller, query: dict[str, str], *,
        handler: Callable[[web.Request, Caller, ParsedQuery], Answer], headers: dict[str, str],
    ) -> Answer:
        if self.faults.echo_authorization:
            presented = request.headers.get("Authorization", "")
            return problem("invalid-request", "Invalid Request",
                           f"The Authorization header [{presented}] is not valid for this request.", 400)
        if caller.kind == "invalid" and caller.failure == "signature":
            # X answers a bad OAuth 1.0a signature with the legacy error shape.
            return Answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})
        if caller.kind in ("invalid", "none"):
            return problem("about:blank", "Unauthorized", "Unauthorized", 401)
        headers.update(self._spend(rules.key, caller.identity))
        if headers["x-rate-limit-remaining"] == "-1":
            headers["x-rate-limit-remaining"] = "0"
            return problem("about:blank", "Too Many Requests", "Too Many Requests", 429)
        if self.faults.usage_capped:
            return problem("usage-capped", "Usage cap exceeded", "Usage cap exceeded: Monthly product cap",
                            429, period="Monthly", scope="Product")
        if self.faults.server_error_ratio > 0:
            self._fault_counter += 1
            every = max(1, round(1 / self.faults.server_error_ratio))
            if self._fault_counter % every == 0:
                return problem("about:blank", "Service Unavailable", "Service Unavailable", 503)
        if rules.user_context_only and caller.kind == "bearer":
            return problem(
                "unsupported-authentication", "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
                "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].", 403,
            )
        try:
            parsed = parse_query(rules, query)
        except QueryError as error:
            return invalid_request(error)
        answer = handler(request, caller, parsed)
        if self.faults.partial_errors and answer.status == 200 and isinstance(answer.body.get("data"), list):
            answer.body["errors"] = [*answer.body.get("errors", []), partial(
                "resource-not-found", "Not Found Error",
                f"Could not find tweet with id: [{_MISSING_POST_ID}].",
                resource_type="tweet", resource_id=_MISSING_POST_ID, parameter="pinned_tweet_id",
            )]
        return answer

    def _spend(self, endpoint: str, identity: str) -> dict[str, str]:
        now = self.clock()
        budget = self._budgets.get((endpoint, identity))
        if budget is None or now >= budget[0]:
            budget = [now + self.window_seconds, 0.0]
            self._budgets[(endpoint, identity)] = budget
        budget[1] += 1
        limit = self.rate_limits.get(endpoint, self.rate_limit)
        remaining = limit - int(budget[1])
        return {
            "x-rate-limit-limit": str(limit),
            # -1 marks the request that found the budget spent (reported as 0).
            "x-rate-limit-remaining": str(max(remaining, -1)),
            "x-rate-limit-reset": str(int(budget[0])),
        }

    def _respond(
        self, slot: int, auth_kind: AuthKind, *, naming: Naming, answer: Answer, headers: dict[str, str],
    ) -> web.Response:
        self._record(slot, auth_kind, answer.status, naming=naming, content_type=answer.content_type,
                     body=answer.body)
        if answer.status >= 400 and self.faults.html_errors:
            reason = web.Response(status=answer.status).reason
            text = HTML_ERROR.format(status=answer.status, reason=reason)
            return web.Response(status=answer.status, text=text, content_type="text/html", headers=headers)
        body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":"))
        if answer.status == 200 and self.faults.malformed_json:
            body = body[: max(1, len(body) // 2)]
            self._replace_last_body(None)
        return web.Response(
            status=answer.status, body=body.encode(), content_type=answer.content_type, charset="utf-8",
            headers=headers,
        )

    def _record(
        self, slot: int, auth_kind: AuthKind, status: int, *, naming: Naming, content_type: str, body: Any,
    ) -> None:
        row = slot - (self._logged - len(self.requests))
        if row < 0:
            return  # pushed out of the bounded log before its answer was ready
        arrived = self.requests[row]
        record = SandboxRequest(arrived.method, arrived.path, arrived.query, auth_kind, status)
        self.requests[row] = record
        if not self.record_bodies:
            return
        if self.faults.html_errors and status >= 400:
            body = None
        self.exchanges.append(SandboxExchange(record, naming, content_type, body))

    def _replace_last_body(self, body: Any) -> None:
        if not self.exchanges:
            return
        last = self.exchanges[-1]
        self.exchanges[-1] = SandboxExchange(last.request, last.naming, last.content_type, body)

    # ----- endpoint handlers (auth, budget and query are already checked) -----

    def _owner_of(self, caller: Caller) -> str | None:
        return OWNER_ID if caller.kind in ("oauth1", "oauth2_user") else None

    def _path_id(self, request: web.Request, name: str = "id") -> str:
        value = request.match_info[name]
        if not ID_PATTERN.fullmatch(value):
            raise Refused(invalid_request(QueryError(
                name, value,
                f"The `{name}` query parameter value [{value}] does not match ^{ID_PATTERN.pattern}$",
            )))
        return value

    def _page(
        self, scope: str, entries: list[tuple[int, str]], query: ParsedQuery,
    ) -> tuple[list[str], JsonObject]:
        cursor = None
        if query.pagination_token is not None:
            cursor = decode_token(scope, query.pagination_token)
            if cursor is None:
                raise Refused(invalid_request(QueryError(
                    "pagination_token", query.pagination_token,
                    f"The `pagination_token` query parameter value [{query.pagination_token}] is not valid",
                )))
        cut = cut_page(entries, cursor, query.max_results)
        meta: JsonObject = {"result_count": len(cut.ids)}
        if cut.next_cursor is not None:
            meta["next_token"] = encode_token(scope, cut.next_cursor)
        if cut.prev_cursor is not None:
            meta["previous_token"] = encode_token(scope, cut.prev_cursor)
        return cut.ids, meta

    def _users_body(self, users: list[SeedUser], query: ParsedQuery, *, single: bool) -> JsonObject:
        naming = query.naming
        pinned = ("pinned_post_id" if naming == "post" else "pinned_tweet_id") in query.expansions
        data = [user_json(u, query.user_fields, naming, pinned=pinned) for u in users]
        body: JsonObject = {"data": data[0] if single else data} if data else {}
        if pinned:
            posts = [self.world.posts[u.pinned_post_id] for u in users if u.pinned_post_id]
            if posts:
                body["includes"] = {"posts" if naming == "post" else "tweets": [
                    post_json(p, query.post_fields, naming) for p in _unique(posts)
                ]}
        return body

    def _posts_body(self, posts: list[SeedPost], query: ParsedQuery, *, single: bool) -> JsonObject:
        naming = query.naming
        fields = query.post_fields | (query.expansions & {"author_id"})
        data = [post_json(p, fields, naming) for p in posts]
        body: JsonObject = {"data": data[0] if single else data} if data else {}
        if "author_id" in query.expansions and posts:
            authors = _unique([self.world.users[p.author_id] for p in posts])
            users = [user_json(u, query.user_fields, naming, pinned=False) for u in authors]
            body["includes"] = {"users": users}
        return body

    def _liking_users(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        post_id = self._path_id(request)
        post = self.world.posts.get(post_id)
        if post is None or post_id in self.world.deleted_posts:
            return not_found("tweet", post_id, "id", "tweet")
        if post.author_id != self._owner_of(caller):
            detail = f"Sorry, you are not authorized to see the likes of the Post with id: [{post_id}]."
            return forbidden("tweet", post_id, detail)
        likers = self.world.visible_likers(post_id)
        seqs = {user_id: seq for seq, user_id in self.world.likers.get(post_id, [])}
        ids, meta = self._page(f"liking_users:{post_id}", [(seqs[u], u) for u in likers], query)
        body = self._users_body([self.world.users[i] for i in ids], query, single=False)
        return Answer(200, {**body, "meta": meta})

    def _liked_posts(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        user_id = self._path_id(request)
        if user_id != self._owner_of(caller):
            return forbidden("user", user_id,
                              f"Sorry, you are not authorized to see the liked Posts of the User with id: "
                              f"[{user_id}].")
        entries = list(reversed(self.world.owner_likes))
        ids, meta = self._page(f"liked_posts:{user_id}", entries, query)
        body = self._posts_body([self.world.posts[i] for i in ids], query, single=False)
        return Answer(200, {**body, "meta": meta})

    def _user_posts(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        user_id = self._path_id(request)
        user = self.world.users.get(user_id)
        if user is None or user.suspended:
            return not_found("user", user_id, "id", "user")
        if user.protected and user_id != self._owner_of(caller):
            return Answer(200, {"errors": [partial(
                "not-authorized-for-resource", "Authorization Error",
                f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                resource_type="user", resource_id=user_id, parameter="id",
            )]})
        posts = sorted((p for p in self.world.posts.values() if p.author_id == user_id
                        and p.id not in self.world.deleted_posts and _in_window(p, query)),
                       key=lambda p: (p.created_at, p.id), reverse=True)
        entries = [(int(p.created_at.timestamp() * 1000), p.id) for p in posts]
        ids, meta = self._page(f"user_posts:{user_id}", entries, query)
        body = self._posts_body([self.world.posts[i] for i in ids], query, single=False)
        return Answer(200, {**body, "meta": meta})

    def _user_by_username(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        username = request.match_info["username"]
        if not USERNAME_PATTERN.fullmatch(username):
            return invalid_request(QueryError(
                "username", username,
                f"The `username` query parameter value [{username}] does not match "
                f"^{USERNAME_PATTERN.pattern}$",
            ))
        user = self.world.user_by_username(username)
        if user is None:
            return not_found("user", username, "username", "user")
        if user.suspended:
            error = partial("resource-not-found", "Forbidden", f"User has been suspended: [{username}].",
                             resource_type="user", resource_id=username, parameter="username")
            return Answer(200, {"errors": [error]})
        return Answer(200, self._users_body([user], query, single=True))

    def _post(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        post_id = self._path_id(request)
        post = self.world.posts.get(post_id)
        if post is None or post_id in self.world.deleted_posts:
            return not_found("tweet", post_id, "id", "tweet")
        return Answer(200, self._posts_body([post], query, single=True))

    def _posts(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        try:
            ids = list(dict.fromkeys(parse_ids(request.query)))
        except QueryError as error:
            return invalid_request(error)
        gone = {i for i in ids if i not in self.world.posts or i in self.world.deleted_posts}
        found = [self.world.posts[i] for i in ids if i not in gone]
        body = self._posts_body(found, query, single=False)
        # As X: what it cannot return is a partial error each, beside the posts it found.
        missing = [partial("resource-not-found", "Not Found Error", f"Could not find tweet with ids: [{i}].",
                           resource_type="tweet", resource_id=i, parameter="ids") for i in ids if i in gone]
        if missing:
            body["errors"] = missing
        return Answer(200, body)

    def _me(self, request: web.Request, caller: Caller, query: ParsedQuery) -> Answer:
        return Answer(200, self._users_body([self.world.users[OWNER_ID]], query, single=True))

    async def _unknown_route(self, request: web.Request) -> web.Response:
        # X answers a path it does not serve with its legacy error shape, code 34.
        kind = self.authenticator.kind_of(request.headers)
        self._log(SandboxRequest(request.method, request.path, dict(request.query), kind, 404))
        body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
        return web.json_response(body, status=404)

    # ----- OAuth 2.0 token endpoint -----

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        basic = parse_basic_auth(request.headers.get("Authorization", ""))
        status, body = self._token_answer(fields, basic)
        record = SandboxRequest(request.method, request.path, dict(request.query),
                                "none" if basic is None else "oauth2_user", status)
        self._log(record)
        headers = self._spend("oauth2_token", "client:" + fields.get("client_id", basic[0] if basic else ""))
        headers["x-rate-limit-remaining"] = str(max(0, int(headers["x-rate-limit-remaining"])))
        headers["Cache-Control"] = "no-store"
        return web.json_response(body, status=status, headers=headers)

    def _token_answer(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, JsonObject]:
        client_id = basic[0] if basic else form.get("client_id", "")
        if client_id != SANDBOX_CLIENT_ID or (basic is not None and basic[1] != SANDBOX_CLIENT_SECRET):
            return 401, {"error": "unauthorized_client",
                         "error_description": "Missing valid authorization header"}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "Only refresh_token is supported"}
        pair = self.oauth2.refresh(form.get("refresh_token", ""))
        if pair is None:
            return 400, {"error": "invalid_request",
                         "error_description": "Value passed for the token was invalid."}
        access, refresh = pair
        return 200, {
            "token_type": "bearer", "expires_in": self.oauth2.access_token_lifetime, "access_token": access,
            "scope": OAUTH2_SCOPE, "refresh_token": refresh,
        }


_Item = TypeVar("_Item", SeedUser, SeedPost)


def _unique(items: list[_Item]) -> list[_Item]:
    seen: set[str] = set()
    result: list[_Item] = []
    for item in items:
        if item.id not in seen:
            seen.add(item.id)
            result.append(item)
    return result


def _in_window(post: SeedPost, query: ParsedQuery) -> bool:
    """Whether `post` falls in the user_posts window of start/end time and since/until id."""
    return not (
        (query.start_time is not None and post.created_at < query.start_time)
        or (query.end_time is not None and post.created_at >= query.end_time)
        or (query.since_id is not None and int(post.id) <= query.since_id)
        or (query.until_id is not None and int(post.id) >= query.until_id)
    )


def _credentials_line(base_url: str) -> str:
    return (
        f"X sandbox at {base_url}: X_API_BASE_URL={base_url} X_API_KEY={SANDBOX_API_KEY} "
        f"X_API_SECRET={SANDBOX_API_SECRET} X_ACCESS_TOKEN={SANDBOX_ACCESS_TOKEN} "
        f"X_ACCESS_TOKEN_SECRET={SANDBOX_ACCESS_TOKEN_SECRET} X_BEARER_TOKEN={SANDBOX_BEARER_TOKEN} "
        f"(or X_CLIENT_ID={SANDBOX_CLIENT_ID} X_CLIENT_SECRET={SANDBOX_CLIENT_SECRET} "
        f"X_OAUTH2_REFRESH_TOKEN={SANDBOX_REFRESH_TOKEN}); owner @{OWNER_USERNAME} id {OWNER_ID}"
    )


async def _serve_forever(host: str, port: int, rate_limit: int) -> None:
    sandbox = XSandbox(rate_limit=rate_limit, record_bodies=False)
    base_url = await sandbox.start(host, port)
    # Sandbox credentials are public fixtures, not secrets: printing them is the point.
    log.info("%s", _credentials_line(base_url))
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.close()


def main(argv: list[str] | None = None) -> None:
    """`python -m xapi.sandbox --port 8088`: serve the sandbox until interrupted."""
    parser = argparse.ArgumentParser(description="Local X API v2 sandbox for LikeLens")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--rate-limit", type=int, default=75, help="requests per 15 minutes per endpoint")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.host, args.port, args.rate_limit))


if __name__ == "__main__":
    main()

