"""xapi.activity against the real sandbox over HTTP: like.create subscriptions (create, duplicate, list
and its pages, delete, the cap, another account's token or a token without like.read refused, a spent
budget, no bearer)."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from tests.xapi.support import oauth1
from xapi import errors
from xapi.activity import ActivityClient
from xapi.auth import BearerAuth, OAuth2UserAuth
from xapi.sandbox import (
    COMMUNITY_MAPLE,
    OWNER_ID,
    SANDBOX_BEARER_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    XSandbox,
)
from xapi.sandbox.oauth2_tokens import Grant

TAG = "likelens:test"


def activity(session: aiohttp.ClientSession, sandbox: XSandbox) -> ActivityClient:
    return ActivityClient(session, base_url=sandbox.base_url, bearer=BearerAuth(SANDBOX_BEARER_TOKEN))


async def test_subscription_lifecycle_create_duplicate_list_delete(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = activity(session, sandbox)
    created = await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    assert (created.event_type, created.user_id, created.direction, created.tag) == (
        "like.create", OWNER_ID, "inbound", TAG)
    with pytest.raises(errors.DuplicateSubscription) as duplicate:
        await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    assert duplicate.value.subscription_id == created.subscription_id
    assert OWNER_ID in duplicate.value.message and "already" in duplicate.value.message
    outbound = await client.create_subscription(oauth1(), OWNER_ID, "outbound", TAG)
    listed = await client.list_subscriptions()
    assert [s.subscription_id for s in listed] == [created.subscription_id, outbound.subscription_id]
    assert [s.tag for s in listed] == [TAG, TAG]
    assert await client.list_subscriptions(oauth1()) == listed
    assert await client.delete_subscription(created.subscription_id) is True
    assert await client.delete_subscription(created.subscription_id) is False
    assert [s.subscription_id for s in await client.list_subscriptions()] == [outbound.subscription_id]


async def test_the_subscription_cap_is_a_clear_sentence(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.subscriptions.cap = 1
    client = activity(session, sandbox)
    await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    with pytest.raises(errors.SubscriptionCapReached) as capped:
        await client.create_subscription(oauth1(), OWNER_ID, "outbound", TAG)
    assert "1,500" in capped.value.message and OWNER_ID in capped.value.message
    assert len(await client.list_subscriptions()) == 1


async def test_another_accounts_token_cannot_subscribe_to_its_likes(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = activity(session, sandbox)
    with pytest.raises(errors.NotAuthorizedForResource) as refused:
        await client.create_subscription(oauth1(), COMMUNITY_MAPLE.id, "inbound", TAG)
    assert "only that account's own token" in refused.value.message
    assert await client.list_subscriptions() == []


async def test_listing_with_a_user_token_shows_only_that_accounts_subscriptions(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.subscriptions.add("like.create", COMMUNITY_MAPLE.id, "inbound", "someone-else",
                              sandbox_now(sandbox))
    client = activity(session, sandbox)
    mine = await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    assert await client.list_subscriptions(oauth1()) == [mine]
    assert len(await client.list_subscriptions()) == 2


async def test_list_follows_next_tokens(sandbox: XSandbox, session: aiohttp.ClientSession) -> None:
    for index in range(1003):
        sandbox.subscriptions.add("like.create", str(1700000000000000001 + index), "inbound", TAG,
                                  sandbox_now(sandbox))
    listed = await activity(session, sandbox).list_subscriptions()
    assert len({s.subscription_id for s in listed}) == 1003
    assert len(sandbox.requests_to("/2/activity/subscriptions")) == 2


async def test_without_a_bearer_list_and_delete_say_what_is_missing(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = ActivityClient(session, base_url=sandbox.base_url)
    with pytest.raises(errors.MissingUserContext, match="X_BEARER_TOKEN"):
        await client.list_subscriptions()
    with pytest.raises(errors.MissingUserContext, match="X_BEARER_TOKEN"):
        await client.delete_subscription("1890000000000000001")
    assert sandbox.requests_to("/2/activity") == []


def sandbox_now(sandbox: XSandbox) -> datetime:
    return datetime.fromtimestamp(sandbox.clock(), UTC)


async def test_an_oauth2_account_token_subscribes_for_its_own_account(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    user = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, sandbox.refresh_token)
    created = await activity(session, sandbox).create_subscription(user, OWNER_ID, "inbound", TAG)
    assert created.user_id == OWNER_ID


async def test_an_oauth2_token_without_like_read_is_told_to_connect_again(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    narrow = sandbox.oauth2.issue(Grant(OWNER_ID, ("tweet.read", "users.read", "offline.access"),
                                        SANDBOX_CLIENT_ID))
    assert narrow.refresh_token is not None
    user = OAuth2UserAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, narrow.refresh_token)
    with pytest.raises(errors.NotAuthorizedForResource) as refused:
        await activity(session, sandbox).create_subscription(user, OWNER_ID, "inbound", TAG)
    assert "like.read" in refused.value.message and "connect the account again" in refused.value.message
    assert sandbox.subscriptions.by_id == {}


async def test_a_spent_subscriptions_budget_is_rate_limited_until_xs_reset(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.rate_limits["activity_subscriptions_create"] = 1
    client = activity(session, sandbox)
    await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    with pytest.raises(errors.RateLimited) as limited:
        await client.create_subscription(oauth1(), OWNER_ID, "outbound", TAG)
    assert limited.value.reset_at > datetime.now(UTC)
    assert SANDBOX_BEARER_TOKEN not in limited.value.message
