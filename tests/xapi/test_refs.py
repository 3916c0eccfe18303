"""xapi.refs: what people paste for a post or an account becomes an id or a username, or a clear error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xapi.errors import InvalidReference
from xapi.refs import UserRef, parse_post_ref, parse_user_ref

POST_ID = "1860000000000000002"

ids = st.from_regex(r"\A[0-9]{1,19}\Z")
usernames = st.from_regex(r"\A[A-Za-z0-9_]{1,15}\Z")
hosts = st.sampled_from([
    "x.com", "twitter.com", "mobile.twitter.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com",
])
schemes = st.sampled_from(["https://", "http://", ""])
www = st.sampled_from(["", "www."])
post_suffixes = st.sampled_from(["", "/", "/photo/1", "/photo/4", "/video/1", "/analytics", "/likes"])
tails = st.sampled_from(["", "?s=20", "?s=46&t=AbC-dEf_123", "#m", "?lang=ar#frag"])


@pytest.mark.parametrize("text", [
    POST_ID,
    f"  {POST_ID}\n",
    f"https://x.com/likelens_demo/status/{POST_ID}",
    f"https://twitter.com/likelens_demo/status/{POST_ID}?s=20&t=xyz",
    f"https://mobile.twitter.com/likelens_demo/status/{POST_ID}#reply",
    f"https://www.x.com/likelens_demo/status/{POST_ID}/photo/1",
    f"http://fxtwitter.com/likelens_demo/status/{POST_ID}",
    f"https://vxtwitter.com/likelens_demo/status/{POST_ID}/",
    f"https://fixupx.com/likelens_demo/status/{POST_ID}/analytics",
    f"x.com/likelens_demo/status/{POST_ID}",
    f"www.twitter.com/likelens_demo/statuses/{POST_ID}",
    f"<https://x.com/likelens_demo/status/{POST_ID}>",
    f"https://x.com/i/web/status/{POST_ID}",
    f"https://x.com/i/status/{POST_ID}",
    f"HTTPS://X.COM/likelens_demo/status/{POST_ID}",
])
def test_post_forms_people_paste_give_the_post_id(text: str) -> None:
    assert parse_post_ref(text) == POST_ID


@pytest.mark.parametrize("text", [
    "", "   ", "hello", "@likelens_demo", "12345678901234567890",  # 20 digits: longer than any X id
    "https://x.com/likelens_demo", "https://example.com/likelens_demo/status/1",
    "https://x.com.evil.example/likelens_demo/status/1", "https://evilx.com/a/status/1",
    "https://x.com/likelens_demo/status/", "https://x.com/likelens_demo/status/abc",
    "https://x.com/likelens_demo/status/1/photo/x", "https://x.com/likelens_demo/status/1/unknown/page",
    "ftp://x.com/likelens_demo/status/1", "https://x.com/has-dash/status/1", "١٢٣", "１２３",
    "https://[x.com/a/status/1", "javascript:alert(1)//x.com/a/status/1", "1 2",
])
def test_anything_else_is_refused_with_an_example_of_a_post_link(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_post_ref(text, handle="maple_guild")
    assert "https://x.com/maple_guild/status/" in str(caught.value)
    with pytest.raises(InvalidReference) as unnamed:
        parse_post_ref(text)
    # No account given: the example names none (never the sandbox's).
    assert "a post link like https://x.com/…/status/… or a post id" in str(unnamed.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("@likelens_demo", UserRef(username="likelens_demo")),
    ("likelens_demo", UserRef(username="likelens_demo")),
    (" @Some_One ", UserRef(username="Some_One")),
    ("12345", UserRef(username="12345")),
    ("id:1600000000000000001", UserRef(id="1600000000000000001")),
    ("ID: 42", UserRef(id="42")),
    ("1600000000000000001", UserRef(id="1600000000000000001")),
    ("https://x.com/likelens_demo", UserRef(username="likelens_demo")),
    ("https://twitter.com/likelens_demo/", UserRef(username="likelens_demo")),
    ("https://www.x.com/likelens_demo?lang=en", UserRef(username="likelens_demo")),
    ("mobile.twitter.com/likelens_demo/likes", UserRef(username="likelens_demo")),
    ("<https://x.com/likelens_demo>", UserRef(username="likelens_demo")),
    ("https://x.com/i/user/1600000000000000001", UserRef(id="1600000000000000001")),
    ("https://twitter.com/intent/user?user_id=2244994945", UserRef(id="2244994945")),
    ("https://x.com/intent/follow?screen_name=XDevelopers", UserRef(username="XDevelopers")),
])
def test_user_forms_people_paste_name_one_account(text: str, expected: UserRef) -> None:
    assert parse_user_ref(text) == expected


@pytest.mark.parametrize("text", [
    "", "@", "@@likelens_demo", "a_name_that_is_too_long", "has space", "id:", "id:abc",
    "id:12345678901234567890", "https://x.com/", "https://x.com/home", "https://x.com/explore",
    "https://x.com/likelens_demo/status/1860000000000000002", "https://example.com/likelens_demo",
    "https://x.com/likelens_demo/unknown_tab", "#likelens", "@likelens-demo", "ｆｕｌｌ",
])
def test_anything_else_is_refused_with_an_example_of_each_user_form(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_user_ref(text, handle="maple_guild")
    message = str(caught.value)
    assert "@maple_guild" in message and "https://x.com/maple_guild" in message
    assert "id:1234567890" in message


@pytest.mark.parametrize("text", ["<@123>", "<@!123456789012345678>", " <@&42> ", "<#9>"])
def test_a_discord_mention_is_refused_with_a_request_for_the_x_handle(text: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_user_ref(text, handle="maple_guild")
    message = str(caught.value)
    assert message.startswith("That is not an X account but a Discord mention. Paste their X handle")
    assert "@maple_guild" in message and "id:1234567890" in message


def test_user_ref_holds_exactly_one_of_id_and_username() -> None:
    with pytest.raises(ValueError):
        UserRef()
    with pytest.raises(ValueError):
        UserRef(id="1", username="a")


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_invalid_reference_for_posts(text: str) -> None:
    try:
        post_id = parse_post_ref(text)
    except InvalidReference:
        return
    assert post_id.isascii() and post_id.isdigit() and 1 <= len(post_id) <= 19


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_invalid_reference_for_users(text: str) -> None:
    try:
        ref = parse_user_ref(text)
    except InvalidReference:
        return
    assert (ref.id is None) != (ref.username is None)


@given(st.one_of(
    st.text(alphabet="https:/.xcomtwier@?#=&_0123456789 <>wWiIdD", max_size=80),
    st.builds(lambda a, b: a + b, st.sampled_from(["https://x.com/", "x.com/", "id:", "@", "https://["]),
              st.text(max_size=60)),
))
def test_link_like_garbage_raises_only_invalid_reference(text: str) -> None:
    for parse in (parse_post_ref, parse_user_ref):
        with contextlib.suppress(InvalidReference):
            parse(text)


# (pasted link, the post id it names)
post_links = st.builds(
    lambda scheme, prefix, host, author, post_id, suffix, tail: (
        f"{scheme}{prefix}{host}/{author}/status/{post_id}{suffix}{tail}", post_id,
    ),
    schemes, www, hosts, usernames, ids, post_suffixes, tails,
)
RESERVED_PATHS = {
    "i", "home", "explore", "search", "settings", "messages", "notifications", "intent", "share", "hashtag",
    "compose", "login", "logout", "signup", "tos", "privacy", "jobs", "about", "download", "who_to_follow",
}
# (pasted profile link, the username it names)
profile_links = st.builds(
    lambda scheme, prefix, host, username, tab, tail: (
        f"{scheme}{prefix}{host}/{username}{tab}{tail}", username,
    ),
    schemes, www, hosts, usernames.filter(lambda u: u.lower() not in RESERVED_PATHS),
    st.sampled_from(["", "/", "/likes", "/media"]), tails,
)


@given(post_links)
def test_every_post_link_form_round_trips_to_its_id(link: tuple[str, str]) -> None:
    text, post_id = link
    assert parse_post_ref(text) == post_id


@given(ids)
def test_bare_post_ids_round_trip(post_id: str) -> None:
    assert parse_post_ref(post_id) == post_id


@given(profile_links)
def test_every_profile_link_form_round_trips_to_its_username(link: tuple[str, str]) -> None:
    text, username = link
    assert parse_user_ref(text) == UserRef(username=username)


@given(usernames, st.sampled_from(["", "@"]))
def test_handles_round_trip(username: str, at: str) -> None:
    assert parse_user_ref(at + username) == UserRef(username=username)


@given(ids)
def test_id_form_round_trips(user_id: str) -> None:
    assert parse_user_ref(f"id:{user_id}") == UserRef(id=user_id)
