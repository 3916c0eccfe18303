"""tests.emulator.schema: Discord's request schemas, with Discord's leniency on snowflakes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.schema import body_errors, discord_error_body, embed_rule_error

SYNC = "/applications/{application_id}/commands"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
MESSAGES = "/channels/{channel_id}/messages"


def command(**extra: Any) -> dict[str, Any]:
    return {"name": "likes", "description": "Who likes", "type": 1, "options": [], **extra}


def test_permissions_are_accepted_as_integer_or_digit_string_but_not_as_words() -> None:
    assert body_errors(SYNC, "PUT", [command(default_member_permissions=8192)]) == []
    assert body_errors(SYNC, "PUT", [command(default_member_permissions="8192")]) == []
    assert body_errors(SYNC, "PUT", [command(default_member_permissions="manage")]) != []


def test_a_string_nonce_still_matches_exactly_one_branch() -> None:
    body = {"content": "hi", "nonce": "digest-1-7", "enforce_nonce": True}
    assert body_errors(MESSAGES, "POST", body) == []


def test_discords_limits_are_enforced_with_the_field_named() -> None:
    too_many_fields = {"embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}] * 26}]}
    errors = body_errors(MESSAGES, "POST", too_many_fields)
    assert errors
    assert discord_error_body(errors)["errors"]["embeds"]["0"]["fields"]["_errors"]


def test_a_callback_error_is_reported_in_the_branch_its_type_selects() -> None:
    body = {"type": 4, "data": {"content": "x" * 2001}}
    (error,) = body_errors(CALLBACK, "POST", body)
    assert list(error.absolute_path) == ["data", "content"]
    assert body_errors(CALLBACK, "POST", {"type": 4, "data": {"content": "ok", "flags": 64}}) == []


def test_routes_without_a_schema_are_not_checked() -> None:
    assert body_errors("/users/@me", "GET", {"anything": True}) == []


def test_a_message_whose_embeds_total_more_than_6000_characters_is_refused() -> None:
    fields = [{"name": "n", "value": "v" * 1000}] * 5  # 5,005 characters, with the title 5,105
    within = {"embeds": [{"title": "t" * 100, "fields": fields}, {"description": "d" * 895}]}
    assert embed_rule_error(within) is None
    embeds = [{"title": "t" * 100, "fields": fields}, {"description": "d" * 896}]
    over = {"type": 4, "data": {"embeds": embeds}}
    error = embed_rule_error(over)
    assert error is not None and error["code"] == 50035
    assert error["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"


@pytest.mark.parametrize(
    "embed",
    [
        {"title": "t", "footer": {"text": ""}},
        {"title": "t", "author": {"name": " "}},
        {"title": "t", "fields": [{"name": "", "value": "v"}]},
        {"title": "t", "fields": [{"name": "n", "value": ""}]},
    ],
)
def test_blank_required_embed_text_is_refused_as_discord_does(embed: dict[str, Any]) -> None:
    error = embed_rule_error({"embeds": [embed]})
    assert error is not None and error["code"] == 50035
    assert embed_rule_error({"embeds": [{"title": "t", "footer": {"text": "Page 1"}}]}) is None
