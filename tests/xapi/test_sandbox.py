"""The X sandbox's seeded data: posts and their likers, the owner's likes and posts, odd accounts, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.spec.xspec import Naming, check_request, check_response
from tests.xapi import sandbox_support
from tests.xapi.sandbox_support import PROBLEM, USER_FIELDS, Caller, all_pages, parse_time
from xapi.sandbox import (
    OWNER_ID,
    POST_7_LIKES,
    POST_100_LIKES,
    POST_DELETED,
    POST_MANY_LIKES,
    POST_NO_LIKES,
    POST_OTHER_ACCOUNT,
    POST_OWNER_PINNED,
    USER_PROTECTED_ID,
    USER_PROTECTED_USERNAME,
    USER_SUSPENDED_USERNAME,
    XSandbox,
)
from xapi.sandbox import data as sandbox_data

# The sandbox tests' shared fixture: a Caller signing requests for this test's sandbox.
x = sandbox_support.x


# ----- seeded data -----

def test_no_seeded_post_lists_more_likers_than_its_like_count() -> None:
    world = sandbox_data.build_world(datetime(2026, 8, 22, tzinfo=UTC))
    short = {post_id: (post.like_count, len(world.likers.get(post_id, [])))
             for post_id, post in world.posts.items()
             if post.like_count < len(world.likers.get(post_id, []))}
    assert short == {}
    assert world.posts[POST_MANY_LIKES].like_count == 140


@pytest.mark.parametrize(("post_id", "like_count", "likers"), [
    (POST_NO_LIKES, 0, 0), (POST_7_LIKES, 7, 7), (POST_100_LIKES, 100, 100), (POST_MANY_LIKES, 140, 100),
])
async def test_seeded_posts_have_their_likers_and_only_100_are_ever_returned(
    x: Caller, post_id: str, like_count: int, likers: int,
) -> None:
    _, _, post = await x.get(f"/2/tweets/{post_id}", {"tweet.fields": "public_metrics,author_id"})
    assert post["data"]["public_metrics"]["like_count"] == like_count
    assert post["data"]["author_id"] == OWNER_ID
    pages = await all_pages(x, f"/2/tweets/{post_id}/liking_users", 30)
    ids = [i for page in pages for i in page]
    assert len(ids) == len(set(ids)) == likers
    full, rest = divmod(likers, 30)
    assert [len(p) for p in pages] == ([30] * full + ([rest] if rest else []) if likers else [0])


async def test_a_post_without_likes_answers_an_empty_page_without_data(x: Caller) -> None:
    status, _, body = await x.get(f"/2/tweets/{POST_NO_LIKES}/liking_users")
    assert status == 200
    assert body == {"meta": {"result_count": 0}}


async def test_the_owner_liked_250_posts_in_pages_forward_and_back(x: Caller) -> None:
    path = f"/2/users/{OWNER_ID}/liked_tweets"
    assert [len(p) for p in await all_pages(x, path, 100)] == [100, 100, 50]
    _, _, first = await x.get(path, {"max_results": "100"})
    _, _, second = await x.get(path, {"max_results": "100", "pagination_token": first["meta"]["next_token"]})
    assert "previous_token" not in first["meta"]
    previous = second["meta"]["previous_token"]
    _, _, back = await x.get(path, {"max_results": "100", "pagination_token": previous})
    assert [p["id"] for p in back["data"]] == [p["id"] for p in first["data"]]
    assert back["meta"]["next_token"] == first["meta"]["next_token"]


async def test_owner_recent_posts_are_within_the_last_7_days_newest_first(
    x: Caller, sandbox: XSandbox,
) -> None:
    status, _, body = await x.get(f"/2/users/{OWNER_ID}/tweets", {
        "max_results": "100", "tweet.fields": "created_at,author_id",
    }, auth="bearer")
    assert status == 200
    created = [datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) for p in body["data"]]
    now = datetime.fromtimestamp(sandbox.clock()).astimezone()
    assert all(now - timedelta(days=7) <= c <= now for c in created)
    assert created == sorted(created, reverse=True)
    ids = {p["id"] for p in body["data"]}
    assert {POST_NO_LIKES, POST_7_LIKES, POST_100_LIKES, POST_MANY_LIKES, POST_OWNER_PINNED} <= ids
    assert POST_DELETED not in ids and POST_OTHER_ACCOUNT not in ids
    assert {p["author_id"] for p in body["data"]} == {OWNER_ID}


async def test_recent_posts_honour_the_time_and_id_window(x: Caller, sandbox: XSandbox) -> None:
    path = f"/2/users/{OWNER_ID}/tweets"
    _, _, everything = await x.get(path, {"max_results": "100", "tweet.fields": "created_at"}, auth="bearer")
    posts = everything["data"]
    assert [int(p["id"]) for p in posts] == sorted((int(p["id"]) for p in posts), reverse=True)
    since = datetime.fromtimestamp(int(sandbox.clock()) - 24 * 3600, UTC)
    start = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    _, _, day = await x.get(path, {"start_time": start, "tweet.fields": "created_at"}, auth="bearer")
    expected = [p["id"] for p in posts if parse_time(p["created_at"]) >= since]
    assert 0 < len(expected) < len(posts)
    assert [p["id"] for p in day["data"]] == expected
    _, _, newer = await x.get(path, {"since_id": posts[3]["id"]}, auth="bearer")
    assert [p["id"] for p in newer["data"]] == [p["id"] for p in posts[:3]]
    _, _, older = await x.get(path, {"until_id": posts[-2]["id"]}, auth="bearer")
    assert [p["id"] for p in older["data"]] == [posts[-1]["id"]]


@pytest.mark.off_spec_requests
async def test_a_malformed_start_time_is_an_invalid_request(x: Caller) -> None:
    status, _, body = await x.get(f"/2/users/{OWNER_ID}/tweets", {"start_time": "yesterday"}, auth="bearer")
    assert (status, body["type"]) == (400, PROBLEM + "invalid-request")
    assert check_request("tweet", "GET", f"/2/users/{OWNER_ID}/tweets", {"start_time": "yesterday"}, "bearer")


async def test_likers_look_like_real_accounts(x: Caller) -> None:
    _, _, body = await x.get(f"/2/tweets/{POST_MANY_LIKES}/liking_users", {
        "user.fields": USER_FIELDS, "expansions": "pinned_tweet_id", "tweet.fields": "created_at",
    })
    names = [u["name"] for u in body["data"]]
    assert any(any(0x0590 <= ord(c) <= 0x06FF for c in n) for n in names)  # right-to-left scripts
    assert any(any(ord(c) > 0x1F000 for c in n) for n in names)  # emoji
    assert any("**" in n or "`" in n or "~~" in n for n in names)  # markdown
    assert any(u["verified"] for u in body["data"]) and not all(u["verified"] for u in body["data"])
    for user in body["data"]:
        metrics = set(user["public_metrics"])
        assert metrics >= {"followers_count", "following_count", "tweet_count", "listed_count"}
        datetime.fromisoformat(user["created_at"].replace("Z", "+00:00"))
    pinned = {u["pinned_tweet_id"] for u in body["data"] if "pinned_tweet_id" in u}
    assert pinned and pinned == {p["id"] for p in body["includes"]["tweets"]}


async def test_protected_and_suspended_accounts(x: Caller) -> None:
    locked_path = f"/2/users/by/username/{USER_PROTECTED_USERNAME}"
    _, _, locked = await x.get(locked_path, {"user.fields": "protected"}, auth="bearer")
    assert locked["data"]["protected"] is True
    _, _, posts = await x.get(f"/2/users/{USER_PROTECTED_ID}/tweets", auth="bearer")
    assert "data" not in posts
    assert posts["errors"][0]["type"] == PROBLEM + "not-authorized-for-resource"
    status, _, gone = await x.get(f"/2/users/by/username/{USER_SUSPENDED_USERNAME}", auth="bearer")
    assert status == 200 and "data" not in gone
    assert "suspended" in gone["errors"][0]["detail"]


async def test_a_deleted_post_is_resource_not_found(x: Caller) -> None:
    for path in (f"/2/tweets/{POST_DELETED}", f"/2/tweets/{POST_DELETED}/liking_users"):
        status, _, body = await x.get(path)
        assert status == 200 and "data" not in body
        assert body["errors"][0]["type"] == PROBLEM + "resource-not-found"
        assert body["errors"][0]["resource_id"] == POST_DELETED


@pytest.mark.parametrize("naming", ["tweet", "post"])
async def test_a_batch_lookup_returns_the_posts_it_has_and_a_partial_error_per_missing_id(
    x: Caller, sandbox: XSandbox, naming: Naming,
) -> None:
    unknown = "1999999999999999999"
    fields = "tweet.fields" if naming == "tweet" else "post.fields"
    query = {"ids": f"{POST_7_LIKES},{POST_DELETED},{POST_MANY_LIKES},{unknown}",
             fields: "created_at,public_metrics", "expansions": "author_id", "user.fields": USER_FIELDS}
    status, _, body = await x.get("/2/tweets", query, auth="bearer")
    assert status == 200
    assert [(p["id"], p["public_metrics"]["like_count"]) for p in body["data"]] == [
        (POST_7_LIKES, 7), (POST_MANY_LIKES, 140)]
    assert [u["id"] for u in body["includes"]["users"]] == [OWNER_ID]
    assert [(e["resource_id"], e["type"]) for e in body["errors"]] == [
        (POST_DELETED, PROBLEM + "resource-not-found"), (unknown, PROBLEM + "resource-not-found")]
    assert sandbox.exchanges[-1].naming == naming
    assert check_response(naming, "GET", "/2/tweets", status, body) == []
    assert check_request(naming, "GET", "/2/tweets", query, "bearer") == []


async def test_a_batch_lookup_of_only_missing_ids_has_no_data(x: Caller) -> None:
    status, _, body = await x.get("/2/tweets", {"ids": POST_DELETED})
    assert status == 200 and "data" not in body
    assert [e["resource_id"] for e in body["errors"]] == [POST_DELETED]


@pytest.mark.off_spec_requests
@pytest.mark.parametrize("ids", ["", ",".join(str(10**17 + i) for i in range(101)), f"{POST_7_LIKES},12a"])
async def test_a_batch_lookup_refuses_no_ids_over_100_ids_or_a_malformed_id(x: Caller, ids: str) -> None:
    status, _, body = await x.get("/2/tweets", {"ids": ids} if ids else None, auth="bearer")
    assert status == 400
    assert body["type"] == PROBLEM + "invalid-request"
    assert list(body["errors"][0]["parameters"]) == ["ids"]
