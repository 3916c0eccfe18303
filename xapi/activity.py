"""The X Activity API calls of live likes: `like.create` subscriptions, and the stream reader's factory.

`ActivityClient` shares the caller's one aiohttp session and the auth classes of xapi.auth. Create
takes the user-context token of the account the subscription filters on (like events are private);
list takes that token or the app's bearer; delete takes the bearer (the spec allows nothing else).
Every refusal is an `xapi.errors` class with a sentence a moderator can act on: the 1,500
subscription cap is SubscriptionCapReached, a duplicate is DuplicateSubscription (with X's id).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import yarl

from xapi import errors
from xapi.activity_parsing import parse_subscription
from xapi.activity_stream import ActivityStream
from xapi.auth import AnyAuth, BearerAuth, OAuth1UserAuth, OAuth2UserAuth
from xapi.models import ActivitySubscription, Direction
from xapi.problems import error_from_response
from xapi.validation import check_id

SUBSCRIPTIONS_PATH = "/2/activity/subscriptions"
SELF_SERVE_CAP = 1500
_LIST_PAGE = 1000
_MAX_TAG = 200
# X's words for a full app and for a subscription that already exists (unverified against the live API).
_CAP_WORDS = re.compile(r"subscription limit|too many subscriptions|maximum number of subscriptions", re.I)
_DUPLICATE_WORDS = re.compile(r"already exists|duplicate", re.I)
_BRACKETED_ID = re.compile(r"\[(\d{1,19})\]")


class ActivityClient:
    """Activity API calls over the caller's session; `bearer` is the app's (list, delete, stream)."""

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str = "https://api.x.com",
        bearer: BearerAuth | None = None, timeout: float = 10.0, clock: Callable[[], float] = time.time,
    ) -> None:
        """`timeout`: seconds per call; `clock` (Unix seconds) dates a 429 that names no reset."""
        self._session = session
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._bearer = bearer
        self._timeout = timeout

    async def create_subscription(
        self, user_auth: OAuth1UserAuth | OAuth2UserAuth, user_id: str, direction: Direction, tag: str,
    ) -> ActivitySubscription:
        """Subscribe the app to `like.create` events of account `user_id` in `direction`.

        `user_auth` must be that account's own token; `tag` marks the subscription as LikeLens'.
        """
        check_id(user_id, "user id")
        if direction not in ("inbound", "outbound"):
            raise errors.InvalidInput("direction must be 'inbound' or 'outbound'.")
        if not 1 <= len(tag) <= _MAX_TAG:
            raise errors.InvalidInput(f"tag must be 1 to {_MAX_TAG} characters.")
        body = {"event_type": "like.create", "filter": {"user_id": user_id, "direction": direction},
                "tag": tag}
        status, text, headers = await self._send("POST", SUBSCRIPTIONS_PATH, user_auth, body=body)
        if status != 200:
            raise self._create_refusal(status, text, headers, user_id=user_id, direction=direction,
                                          auth=user_auth)
        data = _json(text, "create_subscription").get("data")
        subscription = data.get("subscription") if isinstance(data, dict) else None
        return parse_subscription(subscription)

    async def list_subscriptions(self, auth: AnyAuth | None = None) -> list[ActivitySubscription]:
        """Every subscription `auth` sees: a user token its account's; the bearer (the default) the app's."""
        auth = auth or self._require_bearer("list the app's Activity subscriptions")
        found: list[ActivitySubscription] = []
        token: str | None = None
        while True:
            query = f"max_results={_LIST_PAGE}"
            if token:
                query += f"&pagination_token={quote(token, safe='')}"
            status, text, headers = await self._send("GET", f"{SUBSCRIPTIONS_PATH}?{query}", auth)
            if status != 200:
                raise self._refusal(status, text, headers, "list_subscriptions", auth)
            body = _json(text, "list_subscriptions")
            items = body.get("data") or []
            if not isinstance(items, list):
                raise errors.UndecodableResponse("X listed Activity subscriptions as something not a list.",
                                                 endpoint="list_subscriptions", status=200)
            found += [parse_subscription(item) for item in items]
            meta = body.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(token, str) or not token or not items:
                return found

    async def delete_subscription(self, subscription_id: str) -> bool:
        """Delete one subscription with the app's bearer; False when X no longer had it."""
        check_id(subscription_id, "subscription id")
        bearer = self._require_bearer("delete an Activity subscription")
        status, text, headers = await self._send("DELETE", f"{SUBSCRIPTIONS_PATH}/{subscription_id}", bearer)
        if status == 404:
            return False
        if status != 200:
            raise self._refusal(status, text, headers, "delete_subscription", bearer)
        data = _json(text, "delete_subscription").get("data")
        return isinstance(data, dict) and data.get("deleted") is True

    def stream(self, **options: Any) -> ActivityStream:
        """An `ActivityStream` over this client's session and bearer (options: see ActivityStream)."""
        bearer = self._require_bearer("read the activity stream")
        return ActivityStream(self._session, bearer, base_url=self._base_url, **options)

    # ---- plumbing ---------------------------------------------------------------------------

    def _require_bearer(self, what: str) -> BearerAuth:
        if self._bearer is None:
            raise errors.MissingUserContext(
                f"LikeLens needs X_BEARER_TOKEN (the X app's bearer token) to {what}.", endpoint="activity")
        return self._bearer

    async def _send(
        self, method: str, path_and_query: str, auth: AnyAuth, *, body: dict[str, Any] | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        url = self._base_url + path_and_query
        endpoint = f"{method} {path_and_query.split('?', 1)[0]}"
        header = await auth.authorization(self._session, self._base_url, method, url)
        headers = {"Authorization": header}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, yarl.URL(url, encoded=True), headers=headers, allow_redirects=False,
                data=json.dumps(body) if body is not None else None,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as response:
                return response.status, await response.text(errors="replace"), dict(response.headers)
        except TimeoutError:
            raise errors.Timeout(f"X did not answer {endpoint} within {self._timeout:g} s.",
                                 endpoint=endpoint) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise errors.ServerError(f"The connection to X failed during {endpoint}.",
                                     endpoint=endpoint) from exc

    def _refusal(self, status: int, text: str, headers: dict[str, str], endpoint: str,
                 auth: AnyAuth) -> errors.XApiError:
        redact = _redactor(auth)
        return error_from_response(status, text, headers, endpoint=endpoint, now=self._clock(), redact=redact)

    def _create_refusal(
        self, status: int, text: str, headers: dict[str, str], *, user_id: str, direction: str,
        auth: AnyAuth,
    ) -> errors.XApiError:
        base = self._refusal(status, text, headers, "create_subscription", auth)
        said = _redactor(auth)(base.message)
        what = f"the live-likes subscription ({direction}) of X account {user_id}"
        if _CAP_WORDS.search(said):
            return errors.SubscriptionCapReached(
                f"X refused {what}: the X app has all the Activity subscriptions it may hold "
                f"({SELF_SERVE_CAP:,} for self-serve apps). Remove live digests of other accounts or "
                "delete unused subscriptions.", endpoint="create_subscription", status=status)
        if status == 409 or _DUPLICATE_WORDS.search(said):
            found = _BRACKETED_ID.search(said)
            return errors.DuplicateSubscription(
                f"X already has {what}" + (f" (subscription {found.group(1)})." if found else "."),
                endpoint="create_subscription", status=status,
                subscription_id=found.group(1) if found else None)
        if isinstance(base, errors.NotAuthorizedForResource) and "authorized to subscribe" in said:
            base.message = (f"X refused {what}: like events are private, so only that account's own token "
                            "can subscribe to them; connect that account to LikeLens.")
        elif status == 403 and isinstance(base, errors.NotAuthorizedForResource):
            base.message = (f"X refused {what} (HTTP 403): the account's token may lack the like.read scope; "
                            "connect the account again.")
        elif isinstance(base, errors.UnsupportedAuthentication):
            base.message = (f"X refused {what}: it needs the account's user-context token, "
                            "not the app's bearer.")
        else:
            base.message = f"X refused {what}: {base.message}"
        base.args = (base.message,)
        return base


def _json(text: str, endpoint: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise errors.UndecodableResponse(f"X answered {endpoint} with a body that is not a JSON object.",
                                         endpoint=endpoint, status=200)
    return body


def _redactor(auth: AnyAuth) -> Callable[[str], str]:
    def redact(text: str) -> str:
        for secret in auth.secrets:
            if len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text
    return redact


__all__ = ["SELF_SERVE_CAP", "ActivityClient", "ActivityStream", "Direction"]
