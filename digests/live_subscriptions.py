"""LikeLens' like.create subscriptions: at most one per X account and direction, while live digests need it.

A subscription is created with the account's own user token when its first live digest is added
(inbound for post and `recent` digests, outbound for `liked`), and deleted with the app's bearer when
its last live digest is removed. A paused live digest keeps its subscription (resuming it must not
miss likes, and X's cap counts subscriptions, not traffic). At start `reconcile` lists the app's
subscriptions: it creates what is missing, deletes what carries LikeLens' tag and is no longer needed,
and never touches a subscription with another tag. X's refusals (the cap among them) are raised as
`xapi.errors` classes whose message is the sentence /digest add answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from store import like_events as store
from store.digests import Digest
from store.engine import Database
from xapi import errors
from xapi.activity import ActivityClient
from xapi.auth import OAuth1UserAuth, OAuth2UserAuth
from xapi.models import Direction

log = logging.getLogger("likelens.live")

UserAuth = OAuth1UserAuth | OAuth2UserAuth
Need = tuple[str, Direction]


def direction_of(subject_kind: str) -> Direction:
    """The subscription direction a live digest reads: the account's own likes are outbound."""
    return "outbound" if subject_kind == "liked" else "inbound"


def needs_of(digests: Iterable[Digest]) -> set[Need]:
    """The (account, direction) subscriptions these live digests need (paused ones included)."""
    return {(d.account_id, direction_of(d.subject_kind)) for d in digests if d.account_id}


class LiveSubscriptions:
    """Creates, deletes and reconciles LikeLens' subscriptions; `tag` marks them as this deployment's."""

    def __init__(
        self, conn: Database, activity: ActivityClient, *, tag: str, clock: Callable[[], float],
    ) -> None:
        self._conn = conn
        self._activity = activity
        self.tag = tag
        self._clock = clock

    async def ensure(self, account_id: str, direction: Direction, user_auth: UserAuth) -> bool:
        """The account's subscription in direction exists (created now: True). Raises X's refusal."""
        if (account_id, direction) in await store.subscriptions(self._conn):
            return False
        try:
            made = await self._activity.create_subscription(user_auth, account_id, direction, self.tag)
            subscription_id = made.subscription_id
        except errors.DuplicateSubscription as duplicate:
            # X has it already (made before a crash lost our record of it): adopt it.
            if duplicate.subscription_id is None:
                raise
            subscription_id = duplicate.subscription_id
        await store.save_subscription(self._conn, account_id, direction, subscription_id, now=self._clock())
        log.info("Created the live-likes subscription %s (%s) of X account %s", subscription_id, direction,
                 account_id)
        return True

    async def release_unneeded(self, live_digests: Iterable[Digest]) -> int:
        """Delete LikeLens' subscriptions none of live_digests needs any more; returns how many."""
        needed = needs_of(live_digests)
        deleted = 0
        for key, subscription_id in (await store.subscriptions(self._conn)).items():
            if key in needed:
                continue
            await self._activity.delete_subscription(subscription_id)
            await store.forget_subscription(self._conn, *key)
            log.info("Deleted the live-likes subscription %s of X account %s", subscription_id, key[0])
            deleted += 1
        return deleted

    async def reconcile(
        self, live_digests: Iterable[Digest], auth_for: Callable[[str], UserAuth | None],
    ) -> list[str]:
        """Make X's subscriptions match what live_digests need; returns what could not be done, in words."""
        live_digests = list(live_digests)
        needed: set[tuple[str, str]] = set(needs_of(live_digests))
        problems: list[str] = []
        at_x = await self._activity.list_subscriptions()
        ours: dict[tuple[str, str], str] = {}
        for subscription in at_x:
            if subscription.tag != self.tag or subscription.event_type != "like.create":
                continue  # Another deployment's or another app's: never touched.
            key = (subscription.user_id or "", subscription.direction or "inbound")
            if key in needed and key not in ours:
                ours[key] = subscription.subscription_id
                continue
            await self._activity.delete_subscription(subscription.subscription_id)
            log.info("Deleted the orphaned live-likes subscription %s", subscription.subscription_id)
        recorded = await store.subscriptions(self._conn)
        for gone in set(recorded) - set(ours):
            await store.forget_subscription(self._conn, *gone)
        for kept, subscription_id in ours.items():
            if recorded.get(kept) != subscription_id:
                await store.save_subscription(self._conn, *kept, subscription_id, now=self._clock())
        for account_id, direction in sorted(needs_of(live_digests) - set(ours)):
            auth = auth_for(account_id)
            if auth is None:
                problems.append(f"no user token of X account {account_id} to subscribe to its likes")
                continue
            try:
                await self.ensure(account_id, direction, auth)
            except errors.XApiError as refused:
                problems.append(refused.message)
        return problems
