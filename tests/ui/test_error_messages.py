"""ui.error_messages: each xapi error class gets one plain sentence, and none leaks what X said."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ui.error_messages import APOLOGY, message_for, protected_account
from xapi import errors
from xapi.refs import parse_post_ref

SECRETISH = "Bearer AAAA-secret-token"


@pytest.mark.parametrize(("error", "expected"), [
    (errors.NotFound(SECRETISH, endpoint="post"), "X has no such post"),
    (errors.NotFound(SECRETISH, endpoint="user_by_username"), "X has no such account"),
    (errors.NotAuthorizedForResource(SECRETISH, endpoint="liking_users"),
     "Likes are private on X: LikeLens can only list likes on posts of @likelens_demo."),
    (errors.NotAuthorizedForResource(SECRETISH, endpoint="liked_posts"),
     "Likes are private on X: LikeLens can only list the likes of @likelens_demo."),
    (errors.UsageCapped(SECRETISH), "The X app has reached its usage cap"),
    (errors.Unauthorized(SECRETISH), "X rejected LikeLens' credentials"),
    (errors.UnsupportedAuthentication(SECRETISH), "X rejected LikeLens' credentials"),
    (errors.MissingUserContext(SECRETISH), "X rejected LikeLens' credentials"),
    (errors.ClientForbidden(SECRETISH), "X does not let this X app use this endpoint"),
    (errors.Timeout(SECRETISH), "X did not answer in time"),
    (errors.ServerError(SECRETISH), "X is having trouble"),
    (errors.UndecodableResponse(SECRETISH), "X answered with something LikeLens could not read"),
    (errors.InvalidRequest(SECRETISH), "X refused LikeLens' request as malformed"),
    (RuntimeError(SECRETISH), APOLOGY),
])
def test_each_error_class_gets_its_sentence(error: Exception, expected: str) -> None:
    sentence = message_for(error, handle="likelens_demo")
    assert sentence.startswith(expected)
    assert "secret" not in sentence


def test_rate_limited_says_when_as_a_discord_timestamp() -> None:
    reset = datetime(2026, 12, 1, 6, 15, tzinfo=UTC)
    error = errors.RateLimited("spent", reset_at=reset, sent=False)
    expected = f"X's rate limit for this lookup is used up: try again <t:{int(reset.timestamp())}:R>."
    assert message_for(error) == expected


def test_an_unparseable_reference_says_how_to_write_one() -> None:
    error = errors.InvalidReference("That is not an X post. Paste a post link like https://x.com/a/status/1.")
    assert message_for(error) == error.message


def test_without_a_known_handle_the_account_is_described() -> None:
    error = errors.NotAuthorizedForResource("x", endpoint="liking_users")
    assert message_for(error).endswith("posts of the community's connected account.")


def test_protected_account() -> None:
    expected = "@locked_fan is a protected account: X does not show what it likes."
    assert protected_account("locked_fan") == expected


def test_an_unreadable_reference_gives_its_example_on_the_serving_account() -> None:
    with pytest.raises(errors.InvalidReference) as caught:
        parse_post_ref("my favourite post")
    assert "https://x.com/maple_guild/status/" in message_for(caught.value, handle="maple_guild")
    # Unknown account: an example that names none (never the sandbox's account).
    assert message_for(caught.value) == (
        "That is not an X post. Paste a post link like https://x.com/…/status/… or a post id.")
