"""The X sandbox server: its state, the aiohttp app and the request pipeline every GET endpoint shares.

The pipeline logs the request, applies latency and connection faults, checks the credentials,
spends the (endpoint, caller) rate budget, applies the answer faults, checks the query against the
endpoint's rules and hands the rest to the endpoint's handler (routes_likes, routes_lookups).
The OAuth 2.0 routes are oauth2_routes'.

(A little over 300 lines: the request pipeline, whose order mirrors X's checks, reads best whole;
the routes, faults, OAuth 2.0 and activity API are modules of their own.)
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableSequence
from datetime import UTC, datetime
from types import TracebackType

from aiohttp import web

from xapi.sandbox import routes_likes as likes
from xapi.sandbox import routes_lookups as lookups
from xapi.sandbox.activity import ActivityRoutes, ActivitySubscriptions
from xapi.sandbox.activity_events import LikeEvents, SimulatedLikes
from xapi.sandbox.activity_switches import ActivitySwitches
from xapi.sandbox.auth import AuthKind, Caller, SandboxAuthenticator
from xapi.sandbox.bodies import Handler
from xapi.sandbox.community import seed_communities
from xapi.sandbox.data import OWNER_ID, Naming, SandboxWorld, build_world
from xapi.sandbox.faults import (
    SandboxFaults,
    capped_or_failing,
    echoed_authorization,
    html_error,
    rendered_body,
    with_partial_error,
)
from xapi.sandbox.oauth2_clients import SandboxClient, default_client
from xapi.sandbox.oauth2_routes import OAuth2Routes
from xapi.sandbox.oauth2_tokens import CODE_LIFETIME, OAuth2Tokens
from xapi.sandbox.params import ENDPOINTS, EndpointRules, QueryError, detect_naming, parse_query
from xapi.sandbox.problems import Answer, Refused, invalid_request, problem
from xapi.sandbox.request_log import RequestLog, SandboxExchange, SandboxRequest
from xapi.sandbox.stream import ActivityStreams


class XSandbox(ActivitySwitches):
    """The local X API: seeded world, auth, rate budgets, fault switches and a request log."""

    def __init__(
        self, *, rate_limit: int = 75, window_seconds: int = 900, clock: Callable[[], float] = time.time,
        access_token_lifetime: int = 7200, rate_limits: Mapping[str, int] | None = None,
        record_bodies: bool = True, request_log_size: int = 10_000,
        redirect_uris: Iterable[str] = (), oauth2_clients: Iterable[SandboxClient] = (),
        code_lifetime: float = CODE_LIFETIME,
    ) -> None:
        """`redirect_uris`: callback URLs of the sandbox's own app (SANDBOX_CLIENT_ID);
        `oauth2_clients`: more X apps; `code_lifetime`: seconds an authorization code lives."""
        self.rate_limit = rate_limit
        # Per-endpoint overrides of `rate_limit`, keyed like ENDPOINTS ("liking_users", "me", ...).
        self.rate_limits = dict(rate_limits or {})
        self.window_seconds = window_seconds
        self.clock = clock
        self.faults = SandboxFaults()
        # A test switch apart from `faults` (those are the GET endpoints'): POST /2/oauth2/token answers 503.
        self.token_endpoint_down = False
        self.log = RequestLog(record_bodies=record_bodies, size=request_log_size)
        self.world: SandboxWorld = build_world(datetime.fromtimestamp(clock(), UTC))
        seed_communities(self.world)
        self.oauth2 = OAuth2Tokens(clock=clock, access_token_lifetime=access_token_lifetime,
                                   code_lifetime=code_lifetime)
        self.clients: dict[str, SandboxClient] = {}
        for client in (default_client(redirect_uris), *oauth2_clients):
            self.clients[client.client_id] = client
        self.authenticator = SandboxAuthenticator(self.oauth2)
        # (endpoint key, caller identity) -> [window end, requests used in the window]
        self._budgets: dict[tuple[str, str], list[float]] = {}
        self._fault_counter = 0
        # The X Activity API: subscriptions, the stream (its switches), like events, a demo trickle.
        self.subscriptions = ActivitySubscriptions()
        self.streams = ActivityStreams(self)
        self._like_events = LikeEvents(self.world, self.subscriptions)
        self._simulated_likes = SimulatedLikes(self)
        self._runner: web.AppRunner | None = None
        # Set by start(): http://127.0.0.1:PORT
        self.base_url = ""

    @property
    def record_bodies(self) -> bool:
        """Whether answer bodies are kept (`exchanges`); a long-running sandbox keeps none."""
        return self.log.record_bodies

    @property
    def requests(self) -> MutableSequence[SandboxRequest]:
        """Every request in order; without bodies (long runs) only the latest `request_log_size`."""
        return self.log.requests

    @property
    def exchanges(self) -> list[SandboxExchange]:
        """Every request with the JSON body answered (only when `record_bodies`)."""
        return self.log.exchanges

    def requests_to(self, path_fragment: str) -> list[SandboxRequest]:
        """The requests whose path contains `path_fragment`, in order."""
        return [r for r in self.requests if path_fragment in r.path]

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
        for fan_id in added:
            self._emit_like(post_id, fan_id, now)
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
        for post_id in added:
            self._emit_like(post_id, OWNER_ID, now)
        return list(reversed(added))

    @property
    def refresh_token(self) -> str:
        """The OAuth 2.0 refresh token that works now (it rotates on every refresh)."""
        return self.oauth2.refresh_token

    def revoke_tokens(self) -> None:
        """Invalidate every OAuth 2.0 access token, as if the user revoked the app."""
        self.oauth2.revoke_all()

    def register_client(
        self, client_id: str, redirect_uris: Iterable[str], *, secret: str | None = None,
        name: str = "LikeLens",
    ) -> SandboxClient:
        """Register (or replace) an X app: with a secret it is confidential (HTTP Basic), else public."""
        if client_id == default_client().client_id and secret is None:
            raise ValueError("the sandbox's own client is confidential: give XSandbox its redirect_uris")
        client = SandboxClient(client_id, frozenset(redirect_uris), secret, name=name)
        self.clients[client_id] = client
        return client

    def suspend_account(self, account_id: str) -> None:
        """X suspends `account_id`: its tokens still come, but it cannot be looked up or act."""
        self.world.users[account_id].suspended = True

    # ----- server lifecycle -----

    def make_app(self) -> web.Application:
        """The aiohttp application serving the sandbox's endpoints."""
        app = web.Application()
        app.router.add_get("/2/tweets/{id}/liking_users", self._route("liking_users", likes.liking_users))
        app.router.add_get("/2/users/{id}/liked_tweets", self._route("liked_posts", likes.liked_posts))
        app.router.add_get("/2/users/{id}/tweets", self._route("user_posts", lookups.user_posts))
        app.router.add_get("/2/users/by/username/{username}",
                           self._route("user_by_username", lookups.user_by_username))
        app.router.add_get("/2/users/me", self._route("me", lookups.me))
        app.router.add_get("/2/tweets/{id}", self._route("post", lookups.post))
        app.router.add_get("/2/tweets", self._route("posts", lookups.posts))
        OAuth2Routes(self).add_to(app)
        ActivityRoutes(self).add_to(app)
        app.router.add_get("/2/activity/stream", self.streams.handle)
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
        await self._simulated_likes.aclose()
        self.streams.drop_streams()
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

    def _route(self, key: str, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        rules = ENDPOINTS[key]

        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, rules, handler)

        return serve

    async def _serve(
        self, request: web.Request, rules: EndpointRules, handler: Handler,
    ) -> web.StreamResponse:
        query = dict(request.query)
        # Logged on arrival, so a request the client gave up on during added latency still shows.
        presented = self.authenticator.kind_of(request.headers)
        slot = self.log.arrived(SandboxRequest(request.method, request.path, query, presented, 0))
        faults = self.faults
        if faults.latency_seconds > 0:
            await asyncio.sleep(faults.latency_seconds)
        try:
            naming = detect_naming(query)
        except QueryError:
            naming = "tweet"
        if faults.reset_connections:
            self.log.answered(slot, presented, 0, naming=naming, content_type="", body=None)
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
        handler: Handler, headers: dict[str, str],
    ) -> Answer:
        echoed = echoed_authorization(self.faults, request.headers)
        if echoed is not None:
            return echoed
        if caller.kind == "invalid" and caller.failure == "signature":
            # X answers a bad OAuth 1.0a signature with the legacy error shape.
            return Answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})
        if caller.kind in ("invalid", "none"):
            return problem("about:blank", "Unauthorized", "Unauthorized", 401)
        headers.update(self.spend_budget(rules.key, caller.identity))
        if headers["x-rate-limit-remaining"] == "-1":
            headers["x-rate-limit-remaining"] = "0"
            return problem("about:blank", "Too Many Requests", "Too Many Requests", 429)
        if self.faults.server_error_ratio > 0 and not self.faults.usage_capped:
            self._fault_counter += 1
        failed = capped_or_failing(self.faults, self._fault_counter)
        if failed is not None:
            return failed
        if rules.user_context_only and caller.kind == "bearer":
            return problem(
                "unsupported-authentication", "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported "
                "authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].", 403,
            )
        if caller.scopes is not None and not rules.scopes <= caller.scopes:
            # X's answer to a user token granted too few scopes: a bare 403.
            return problem("about:blank", "Forbidden", "Forbidden", 403)
        try:
            parsed = parse_query(rules, query)
        except QueryError as error:
            return invalid_request(error)
        return with_partial_error(self.faults, handler(self.world, request, caller, parsed))

    def spend_budget(self, endpoint: str, identity: str) -> dict[str, str]:
        """Count one request of `identity` on `endpoint`; the x-rate-limit-* headers to answer with."""
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
        page = html_error(self.faults, answer, headers)
        self.log.answered(slot, auth_kind, answer.status, naming=naming, content_type=answer.content_type,
                          body=None if page is not None else answer.body)
        if page is not None:
            return page
        body, truncated = rendered_body(self.faults, answer)
        if truncated:
            self.log.replace_last_body(None)
        return web.Response(
            status=answer.status, body=body.encode(), content_type=answer.content_type, charset="utf-8",
            headers=headers,
        )

    async def _unknown_route(self, request: web.Request) -> web.Response:
        # X answers a path it does not serve with its legacy error shape, code 34.
        kind = self.authenticator.kind_of(request.headers)
        self.log.arrived(SandboxRequest(request.method, request.path, dict(request.query), kind, 404))
        body = {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
        return web.json_response(body, status=404)
