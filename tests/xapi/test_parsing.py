"""Parsing X's JSON: both namings read; arbitrary JSON raises only UndecodableResponse (pages) or only
`xapi.errors` classes (single objects, whose `errors` array is X's refusal)."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xapi.errors import InvalidInput, RateLimited, UndecodableResponse, XApiError
from xapi.models import User
from xapi.parsing import parse_page, parse_post, parse_single, parse_user
from xapi.validation import check_id, check_max_results, check_token, check_username

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["data", "includes", "meta", "errors", "users", "tweets", "posts", "id", "username",
                         "text", "public_metrics", "result_count", "next_token", "created_at", "type"]),
        inner, max_size=5),
    max_leaves=20,
)


@given(JSON)
def test_any_json_gives_a_page_or_undecodable(body: Any) -> None:
    with contextlib.suppress(UndecodableResponse):
        parse_page(body, parse_user)
    with contextlib.suppress(UndecodableResponse):
        parse_page(body, parse_post)


# Problem types X documents, some with their host, plus anything else.
KINDS = ["rate-limit-exceeded", "usage-capped", "resource-not-found", "not-authorized-for-resource",
         "unsupported-authentication", "client-forbidden", "invalid-request", "about:blank"]
TYPES = st.sampled_from(KINDS) | st.sampled_from(KINDS).map(
    lambda k: f"https://api.x.com/2/problems/{k}") | st.text(max_size=30)
PARTIAL_ERROR = st.fixed_dictionaries({}, optional={
    "type": TYPES | JSON, "title": st.text(max_size=20) | JSON, "detail": st.text(max_size=20),
    "resource_id": st.text(max_size=20) | JSON, "value": JSON, "message": JSON, "code": JSON,
})
ERRORS_ARRAY = st.lists(PARTIAL_ERROR | JSON, max_size=4) | JSON
SINGLE_BODY = st.fixed_dictionaries({"errors": ERRORS_ARRAY}, optional={"data": JSON, "includes": JSON})


@given(SINGLE_BODY | JSON)
def test_any_errors_array_of_a_single_object_gives_the_object_or_an_xapi_error(body: Any) -> None:
    with contextlib.suppress(XApiError):
        parse_single(body, parse_user)
    with contextlib.suppress(XApiError):
        parse_single(body, parse_post)


def test_a_rate_limit_partial_error_is_rate_limited_with_a_reset_time() -> None:
    body = {"errors": [{"type": "https://api.x.com/2/problems/rate-limit-exceeded", "title": "Too Many"}]}
    try:
        parse_single(body, parse_user)
    except RateLimited as caught:
        assert caught.reset_at is not None and caught.sent
    else:
        raise AssertionError("a refusal was returned as an object")


@given(st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.floats()))
def test_validation_raises_only_invalid_input(value: Any) -> None:
    for check in (check_id, check_username, check_token, lambda v: check_max_results(v, 1, 100)):
        with contextlib.suppress(InvalidInput):
            check(value)


def test_both_namings_are_read() -> None:
    tweet = {"data": [{"id": "1", "username": "a", "name": "A", "pinned_tweet_id": "9",
                       "public_metrics": {"tweet_count": 3}}],
             "includes": {"tweets": [{"id": "9", "text": "t", "public_metrics": {"retweet_count": 2}}]},
             "meta": {"result_count": 1, "next_token": "n1"}}
    post = {"data": [{"id": "1", "username": "a", "name": "A", "pinned_post_id": "9",
                      "public_metrics": {"post_count": 3}}],
            "includes": {"posts": [{"id": "9", "text": "t", "public_metrics": {"repost_count": 2}}]},
            "meta": {"result_count": 1, "next_token": "n1"}}
    for body in (tweet, post):
        page = parse_page(body, parse_user)
        user = page.items[0]
        assert isinstance(user, User) and user.pinned_post_id == "9" and user.post_count == 3
        pinned = page.includes.post("9")
        assert pinned is not None and pinned.retweet_count == 2
        assert page.next_token == "n1" and page.result_count == 1


def test_page_without_data_is_empty() -> None:
    page = parse_page({"meta": {"result_count": 0}}, parse_user)
    assert page.items == () and page.result_count == 0 and page.next_token is None
