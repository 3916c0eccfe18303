"""The X sandbox speaks X's spec: 400s naming the parameter, each field naming, checkers that can fail."""

from __future__ import annotations

import random

import pytest

from tests.spec.xspec import Naming, check_request, check_response, exchange_problems
from tests.xapi import sandbox_support
from tests.xapi.sandbox_support import PROBLEM, USER_FIELDS, Caller
from xapi.sandbox import (
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
    USER_PROTECTED_ID,
    USER_SUSPENDED_USERNAME,
    XSandbox,
)

# The sandbox tests' shared fixture: a Caller signing requests for this test's sandbox.
x = sandbox_support.x


# ----- validation like X -----

@pytest.mark.off_spec_requests
@pytest.mark.parametrize(("path", "query", "parameter"), [
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"max_results": "0"}, "max_results"),
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"max_results": "101"}, "max_results"),
    (f"/2/users/{OWNER_ID}/liked_tweets", {"max_results": "4"}, "max_results"),
    (f"/2/users/{OWNER_ID}/tweets", {"max_results": "x"}, "max_results"),
    (f"/2/tweets/{POST_7_LIKES}/liking_users", {"pagination_token": "zzzz"}, "pagination_token"),
    (f"/2/tweets/{POST_7_LIKES}", {"colour": "red"}, "colour"),
    ("/2/users/me", {"user.fields": "created_at,shoe_size"}, "user.fields"),
    ("/2/users/me", {"tweet.fields": "created_at", "expansions": "pinned_post_id"}, "tweet.fields"),
    ("/2/tweets/abc", {}, "id"),
    ("/2/users/by/username/not-valid", {}, "username"),
    # A trailing newline is not part of an id or a username (`$` alone would let it through).
    (f"/2/tweets/{POST_7_LIKES}%0A", {}, "id"),
    (f"/2/users/by/username/{OWNER_USERNAME}%0A", {}, "username"),
])
async def test_invalid_requests_get_400_invalid_request_naming_the_parameter(
    x: Caller, path: str, query: dict[str, str], parameter: str,
) -> None:
    status, _, body = await x.get(path, query)
    assert status == 400
    assert body["type"] == PROBLEM + "invalid-request"
    assert list(body["errors"][0]["parameters"]) == [parameter]


async def test_a_pagination_token_of_another_post_is_refused(x: Caller) -> None:
    _, _, page = await x.get(f"/2/tweets/{POST_100_LIKES}/liking_users", {"max_results": "10"})
    status, _, body = await x.get(f"/2/tweets/{POST_MANY_LIKES}/liking_users",
                                  {"pagination_token": page["meta"]["next_token"]})
    assert status == 400 and body["type"] == PROBLEM + "invalid-request"


# ----- field naming -----

async def test_each_naming_is_answered_in_its_own_words(x: Caller) -> None:
    _, _, tweet = await x.get("/2/users/me", {
        "user.fields": "public_metrics", "expansions": "pinned_tweet_id", "tweet.fields": "public_metrics",
    })
    _, _, post = await x.get("/2/users/me", {
        "user.fields": "public_metrics", "expansions": "pinned_post_id", "post.fields": "public_metrics",
    })
    assert tweet["data"]["pinned_tweet_id"] == post["data"]["pinned_post_id"] == POST_OWNER_PINNED
    assert "tweet_count" in tweet["data"]["public_metrics"] and "post_count" in post["data"]["public_metrics"]
    assert "retweet_count" in tweet["includes"]["tweets"][0]["public_metrics"]
    assert "repost_count" in post["includes"]["posts"][0]["public_metrics"]
    assert "posts" not in tweet["includes"] and "tweets" not in post["includes"]


# ----- X's spec: every answer conforms, and the checker can fail -----

@pytest.mark.off_spec_requests
async def test_every_endpoint_answers_per_spec_in_both_namings(x: Caller, sandbox: XSandbox) -> None:
    namings: tuple[tuple[Naming, str, str], ...] = (
        ("tweet", "tweet.fields", "pinned_tweet_id"), ("post", "post.fields", "pinned_post_id"),
    )
    for naming, fields, pinned in namings:
        user_query = {"user.fields": USER_FIELDS, "expansions": pinned, fields: "created_at,public_metrics"}
        post_query = {fields: "created_at,public_metrics,conversation_id,lang", "expansions": "author_id",
                      "user.fields": USER_FIELDS}
        cases = [
            (f"/2/tweets/{POST_MANY_LIKES}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_NO_LIKES}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_DELETED}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_OTHER_ACCOUNT}/liking_users", user_query, "oauth1"),
            (f"/2/tweets/{POST_MANY_LIKES}/liking_users", user_query, "bearer"),
            (f"/2/users/{OWNER_ID}/liked_tweets", post_query, "oauth1"),
            (f"/2/users/{USER_OTHER_ID}/liked_tweets", post_query, "oauth1"),
            (f"/2/users/{OWNER_ID}/tweets", post_query, "bearer"),
            (f"/2/users/{USER_PROTECTED_ID}/tweets", post_query, "bearer"),
            (f"/2/users/by/username/{OWNER_USERNAME}", user_query, "bearer"),
            (f"/2/users/by/username/{USER_SUSPENDED_USERNAME}", user_query, "bearer"),
            ("/2/users/by/username/nobody_here", user_query, "bearer"),
            (f"/2/tweets/{POST_7_LIKES}", post_query, "bearer"),
            (f"/2/tweets/{POST_DELETED}", post_query, "oauth1"),
            ("/2/tweets", {"ids": f"{POST_7_LIKES},{POST_DELETED}", **post_query}, "bearer"),
            ("/2/tweets", {"ids": POST_DELETED, **post_query}, "oauth1"),
            ("/2/users/me", user_query, "oauth1"),
            ("/2/users/me", {**user_query, "max_results": "0"}, "oauth1"),
            ("/2/users/me", user_query, "none"),
        ]
        for path, query, auth in cases:
            status, _, body = await x.get(path, query, auth=auth)
            assert sandbox.exchanges[-1].naming == naming
            assert check_response(naming, "GET", path.split("?")[0], status, body) == [], (path, status)
        # Pages after the first carry both tokens.
        liked = f"/2/users/{OWNER_ID}/liked_tweets"
        _, _, page = await x.get(liked, {"max_results": "5", fields: "created_at"})
        status, _, body = await x.get(f"/2/users/{OWNER_ID}/liked_tweets", {
            "max_results": "5", fields: "created_at", "pagination_token": page["meta"]["next_token"],
        })
        assert {"next_token", "previous_token"} <= set(body["meta"])
        assert check_response(naming, "GET", f"/2/users/{OWNER_ID}/liked_tweets", status, body) == []
    sandbox.faults.usage_capped = True
    await x.get(f"/2/tweets/{POST_7_LIKES}")
    assert exchange_problems(sandbox.exchanges) == []
    statuses = {exchange.request.status for exchange in sandbox.exchanges}
    assert {200, 400, 401, 403, 429} <= statuses


@pytest.mark.off_spec_requests
async def test_random_queries_get_200_or_400_and_every_answer_is_in_the_spec(
    x: Caller, sandbox: XSandbox,
) -> None:
    rng = random.Random(1234)
    paths = [
        f"/2/tweets/{POST_MANY_LIKES}/liking_users", f"/2/users/{OWNER_ID}/liked_tweets",
        f"/2/users/{OWNER_ID}/tweets", f"/2/users/by/username/{OWNER_USERNAME}", f"/2/tweets/{POST_7_LIKES}",
        "/2/users/me",
    ]
    names = ["max_results", "pagination_token", "user.fields", "tweet.fields", "post.fields", "expansions",
             "since_id", "start_time", "exclude", "bogus"]
    values = [
        "0", "1", "5", "100", "101", "-1", "", "abc", "created_at", "created_at,public_metrics",
        "pinned_tweet_id", "pinned_post_id", "author_id", "2026-01-01T00:00:00Z", "replies", "%00", "🙂",
    ]
    statuses = []
    for _ in range(150):
        query = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(0, 3))}
        status, _, body = await x.get(rng.choice(paths), query)
        statuses.append(status)
        assert status in (200, 400), (query, status, body)
    assert {200, 400} <= set(statuses)
    assert exchange_problems(sandbox.exchanges) == []


def test_the_request_checker_catches_what_x_would_refuse() -> None:
    path = f"/2/tweets/{POST_7_LIKES}/liking_users"
    good = {"max_results": "100", "user.fields": "created_at"}
    assert check_request("tweet", "GET", path, good, "oauth1") == []
    assert check_request("tweet", "GET", path, {"max_results": "0"}, "oauth1")
    liked = f"/2/users/{OWNER_ID}/liked_tweets"
    assert check_request("post", "GET", liked, {"max_results": "4"}, "oauth2_user")
    assert check_request("tweet", "GET", path, {"user.fields": "created_at,shoe_size"}, "oauth1")
    assert check_request("tweet", "GET", path, {"colour": "red"}, "oauth1")
    assert check_request("tweet", "GET", path, {}, "bearer")
    assert check_request("tweet", "GET", path, {}, "none")
    assert check_request("tweet", "GET", "/2/tweets/12345678901234567890", {}, "bearer")
    assert check_request("tweet", "GET", "/2/users/by/username/not-valid", {}, "bearer")
    # v2.167 renamed the fields: the tweet names are unknown there.
    assert check_request("post", "GET", "/2/users/me", {"tweet.fields": "created_at"}, "oauth1")
    assert check_request("post", "GET", "/2/users/me", {"expansions": "pinned_tweet_id"}, "oauth1")
    assert check_request("post", "GET", "/2/users/me", {"expansions": "pinned_post_id"}, "oauth1") == []


def test_the_response_checker_catches_answers_x_would_not_send() -> None:
    path = f"/2/tweets/{POST_7_LIKES}/liking_users"
    good = {"data": [{"id": "1", "name": "A", "username": "a"}], "meta": {"result_count": 1}}
    assert check_response("tweet", "GET", path, 200, good) == []
    assert check_response("tweet", "GET", path, 200, {"data": [{"id": 1, "name": "A", "username": "a"}]})
    assert check_response("tweet", "GET", path, 200, {"data": [{"name": "A", "username": "a"}]})
    assert check_response("tweet", "GET", path, 200, {**good, "meta": {"result_count": 1, "next": "x"}})
    assert check_response("tweet", "GET", path, 200, {
        **good, "data": [{"id": "1", "name": "A", "username": "a", "created_at": "yesterday"}],
    })
    # The other naming's words: includes.tweets is not v2.167, pinned_post_id is not v2.166.
    wrong_includes = {**good, "includes": {"tweets": [{"id": "2", "text": "t"}]}}
    assert check_response("post", "GET", path, 200, wrong_includes)
    assert check_response("tweet", "GET", path, 200, {
        **good, "data": [{"id": "1", "name": "A", "username": "a", "pinned_post_id": "2"}],
    })
    # Problems: shape and type are checked.
    assert check_response("tweet", "GET", path, 403, {"title": "Forbidden", "type": PROBLEM + "no-such-type"})
    assert check_response("post", "GET", path, 200, {"errors": [{"type": PROBLEM + "resource-not-found",
                                                                 "title": "Not Found Error"}]})
    assert check_response("tweet", "GET", path, 500, "<html></html>")
    assert check_response("tweet", "GET", path, 401, {"errors": [{"code": "32"}]})
