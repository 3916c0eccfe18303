"""Helpers of the /likes end-to-end tests: find the paginator's buttons, check that nothing pings."""

from __future__ import annotations

from tests.botharness import InteractionResult


def _pager_ids(result: InteractionResult) -> list[str]:
    return [cid for cid in result.response.buttons if cid.startswith("ll:pg:")]


def previous_id(result: InteractionResult) -> str:
    """The custom_id of the Previous button on the result's message."""
    return _pager_ids(result)[0]


def next_id(result: InteractionResult) -> str:
    """The custom_id of the Next button on the result's message."""
    return _pager_ids(result)[-1]


def assert_no_pings(result: InteractionResult) -> None:
    """Every message request of this interaction disabled mentions (allowed_mentions parse empty).

    The bot's global default (AllowedMentions.none()) would satisfy this too; that each send passes
    it itself is proved by test_every_kind_of_message_turns_mentions_off_itself, which switches the
    default to "everything pings".
    """
    sent = [r for r in result.requests if r.method in ("POST", "PATCH") and isinstance(r.json, dict)]
    checked = 0
    for request in sent:
        body = request.json
        payload = body.get("data", body) if "type" in body else body
        if not isinstance(payload, dict) or not ({"content", "embeds"} & payload.keys()):
            continue
        checked += 1
        assert payload.get("allowed_mentions") == {"parse": []}, (request.path, payload)
    assert checked, "the interaction sent no message to check"
