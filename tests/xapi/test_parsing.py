"""Parsing X's JSON: both namings read, and arbitrary JSON raises only UndecodableResponse."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xapi.errors import InvalidInput, UndecodableResponse
from xapi.models import User
from xapi.parsing import parse_page, parse_post, parse_user
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
