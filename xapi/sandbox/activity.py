"""The sandbox's X Activity API subscriptions: `POST`, `GET /2/activity/subscriptions` and `DELETE …/{id}`.

Rules as X documents them (x-api-facts.md, "Live likes"): `like.create` is a private event, so its
subscription is created with the user-context token of the account it filters on (an app-only
bearer, or another account's token, is refused); an OAuth 2.0 token needs `like.read`. Listing takes
a user token (that account's subscriptions) or the app's bearer (all of them); deleting takes the
bearer, as the spec's security section says. One subscription per event type and filter (409
conflict on a duplicate); at most `cap` per app (1,500 like self-serve apps; tests set it lower).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from xapi.sandbox.auth import Caller
from xapi.sandbox.bodies import acting_account
from xapi.sandbox.data import iso
from xapi.sandbox.problems import Answer, forbidden, problem
from xapi.sandbox.request_log import SandboxRequest
from xapi.validation import ID_PATTERN

if TYPE_CHECKING:
    from xapi.sandbox.server import XSandbox

SUBSCRIPTION_CAP = 1500
PRIVATE_EVENTS = frozenset({"like.create"})
DIRECTIONS = frozenset({"inbound", "outbound"})
_FIRST_SUBSCRIPTION_ID = 1890000000000000000


@dataclass(frozen=True, slots=True)
class Subscription:
    """One Activity API subscription of the sandbox's app."""

    subscription_id: str
    event_type: str
    user_id: str
    direction: str | None
    tag: str | None
    created_at: datetime

    def json(self) -> dict[str, Any]:
        """The subscription as X lists it."""
        data: dict[str, Any] = {
            "subscription_id": self.subscription_id, "event_type": self.event_type,
            "filter": {"user_id": self.user_id} | ({"direction": self.direction} if self.direction else {}),
            "created_at": iso(self.created_at), "updated_at": iso(self.created_at),
        }
        if self.tag is not None:
            data["tag"] = self.tag
        return data


class ActivitySubscriptions:
    """The app's subscriptions, in creation order."""

    def __init__(self) -> None:
        self.cap = SUBSCRIPTION_CAP
        self.by_id: dict[str, Subscription] = {}
        self._next = _FIRST_SUBSCRIPTION_ID

    def add(self, event_type: str, user_id: str, direction: str | None, tag: str | None,
            now: datetime) -> Subscription:
        """Store a new subscription (the caller checked the rules)."""
        self._next += 1
        sub = Subscription(str(self._next), event_type, user_id, direction, tag, now)
        self.by_id[sub.subscription_id] = sub
        return sub

    def find(self, event_type: str, user_id: str, direction: str | None) -> Subscription | None:
        """The subscription with exactly this event type and filter, if any."""
        return next((s for s in self.by_id.values() if (s.event_type, s.user_id, s.direction)
                     == (event_type, user_id, direction)), None)

    def matching(self, event_type: str, user_id: str, direction: str) -> list[Subscription]:
        """Subscriptions an event of `user_id` in `direction` is delivered for (no direction: both)."""
        return [s for s in self.by_id.values() if s.event_type == event_type and s.user_id == user_id
                and s.direction in (None, direction)]


class ActivityRoutes:
    """The subscription handlers of one sandbox (the stream is stream.py's)."""

    def __init__(self, sandbox: XSandbox) -> None:
        self.sandbox = sandbox

    def add_to(self, app: web.Application) -> None:
        app.router.add_post("/2/activity/subscriptions", self.create)
        app.router.add_get("/2/activity/subscriptions", self.list)
        app.router.add_delete("/2/activity/subscriptions/{subscription_id}", self.delete)

    @property
    def store(self) -> ActivitySubscriptions:
        return self.sandbox.subscriptions

    async def _serve(self, request: web.Request, key: str, body: Any) -> tuple[int, Caller]:
        sandbox = self.sandbox
        presented = sandbox.authenticator.kind_of(request.headers)
        slot = sandbox.log.arrived(SandboxRequest(request.method, request.path, dict(request.query),
                                                  presented, 0, body=body))
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        return slot, sandbox.authenticator.identify(request.method, url, request.headers)

    def _respond(self, slot: int, caller: Caller, answer: Answer, headers: dict[str, str]) -> web.Response:
        self.sandbox.log.answered(slot, caller.kind, answer.status, naming="tweet",
                                  content_type=answer.content_type, body=answer.body)
        return web.Response(status=answer.status, text=json.dumps(answer.body), headers=headers,
                            content_type=answer.content_type)

    def _checked(self, key: str, caller: Caller, headers: dict[str, str]) -> Answer | None:
        """X's answer when auth or the rate budget refuses the request; None to go on."""
        if caller.kind in ("invalid", "none"):
            return problem("about:blank", "Unauthorized", "Unauthorized", 401)
        headers.update(self.sandbox.spend_budget(key, caller.identity))
        if headers["x-rate-limit-remaining"] == "-1":
            headers["x-rate-limit-remaining"] = "0"
            return problem("about:blank", "Too Many Requests", "Too Many Requests", 429)
        return None

    async def create(self, request: web.Request) -> web.Response:
        """POST /2/activity/subscriptions."""
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        slot, caller = await self._serve(request, "activity_subscriptions_create", body)
        headers: dict[str, str] = {}
        answer = self._checked("activity_subscriptions_create", caller, headers) or self._create(caller, body)
        return self._respond(slot, caller, answer, headers)

    def _create(self, caller: Caller, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("filter"), dict):
            return _invalid("The request body must be a JSON object with `event_type` and `filter`.")
        event_type, filt, tag = body.get("event_type"), body["filter"], body.get("tag")
        user_id, direction = filt.get("user_id"), filt.get("direction")
        if not isinstance(event_type, str) or not event_type:
            return _invalid("`event_type` is required.")
        if not isinstance(user_id, str) or not ID_PATTERN.fullmatch(user_id):
            return _invalid("`filter.user_id` must be a user id.")
        if direction is not None and direction not in DIRECTIONS:
            return _invalid(f"`filter.direction` [{direction}] is not one of [inbound,outbound].")
        if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 200):
            return _invalid("`tag` must be a text of 1 to 200 characters.")
        if event_type in PRIVATE_EVENTS:
            if caller.kind == "bearer":
                return problem(
                    "unsupported-authentication", "Unsupported Authentication",
                    f"{event_type} is a private event: create its subscription with the user context of "
                    "the account it filters on (OAuth 1.0a User Context, OAuth 2.0 User Context).", 403)
            if caller.scopes is not None and "like.read" not in caller.scopes:
                return problem("about:blank", "Forbidden", "Forbidden", 403)
            if user_id != acting_account(caller):
                return forbidden("user", user_id, f"Sorry, you are not authorized to subscribe to "
                                                  f"{event_type} events of the User with id: [{user_id}].")
        existing = self.store.find(event_type, user_id, direction)
        if existing is not None:
            return problem("conflict", "Conflict", f"A subscription with this event_type and filter already "
                                                   f"exists: [{existing.subscription_id}].", 409)
        if len(self.store.by_id) >= self.store.cap:
            return _invalid(f"Subscription limit reached: this app has {len(self.store.by_id)} of "
                            f"{self.store.cap} subscriptions.")
        now = datetime.fromtimestamp(self.sandbox.clock(), UTC)
        sub = self.store.add(event_type, user_id, direction, tag, now)
        return Answer(200, {"data": {"subscription": sub.json()}})

    async def list(self, request: web.Request) -> web.Response:
        """GET /2/activity/subscriptions: the caller's own (user token) or the app's (bearer)."""
        slot, caller = await self._serve(request, "activity_subscriptions_list", None)
        headers: dict[str, str] = {}
        answer = self._checked("activity_subscriptions_list", caller, headers) or self._list(request, caller)
        return self._respond(slot, caller, answer, headers)

    def _list(self, request: web.Request, caller: Caller) -> Answer:
        raw_max = request.query.get("max_results", "100")
        if not raw_max.isdigit() or not 1 <= int(raw_max) <= 1000:
            return _invalid(f"The `max_results` query parameter value [{raw_max}] is not between 1 and 1000")
        account = acting_account(caller)
        subs = [s for s in self.store.by_id.values() if account is None or s.user_id == account]
        start = 0
        token = request.query.get("pagination_token")
        if token is not None:
            if not token.startswith("sub") or not token[3:].isdigit():
                return _invalid(f"The `pagination_token` query parameter value [{token}] is not valid")
            start = int(token[3:])
        page = subs[start:start + int(raw_max)]
        body: dict[str, Any] = {"data": [s.json() for s in page]} if page else {}
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + len(page) < len(subs):
            meta["next_token"] = f"sub{start + len(page):016d}"
        return Answer(200, {**body, "meta": meta})

    async def delete(self, request: web.Request) -> web.Response:
        """DELETE /2/activity/subscriptions/{subscription_id}: the app's bearer only."""
        slot, caller = await self._serve(request, "activity_subscriptions_delete", None)
        headers: dict[str, str] = {}
        answer = self._checked("activity_subscriptions_delete", caller, headers) or self._delete(
            request.match_info["subscription_id"], caller)
        return self._respond(slot, caller, answer, headers)

    def _delete(self, subscription_id: str, caller: Caller) -> Answer:
        if caller.kind != "bearer":
            return problem(
                "unsupported-authentication", "Unsupported Authentication",
                "Authenticating with a user context is forbidden for this endpoint.  Supported "
                "authentication types are [OAuth 2.0 Application-Only].", 403)
        if not ID_PATTERN.fullmatch(subscription_id):
            return _invalid(f"The `subscription_id` path parameter value [{subscription_id}] is not an id")
        # An unknown (or already deleted) subscription: nothing deleted, which the spec's answer can say.
        deleted = self.store.by_id.pop(subscription_id, None) is not None
        return Answer(200, {"data": {"deleted": deleted}})


def _invalid(detail: str) -> Answer:
    return problem("invalid-request", "Invalid Request", detail, 400)
