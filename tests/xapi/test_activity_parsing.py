"""xapi.activity_parsing: stream lines to LikeEvent, whichever name X gives the liked post's author."""

from __future__ import annotations

import json

import pytest

from xapi import errors
from xapi.activity_parsing import parse_stream_line

AUTHOR, LIKER, POST = "1600000000000000001", "1700000000000000009", "1860000000000000002"


def line(payload: dict[str, object], *, users: list[str] | None = None, direction: str = "inbound") -> bytes:
    data: dict[str, object] = {"event_uuid": "1900000000000000001", "event_type": "like.create",
                               "filter": {"user_id": AUTHOR, "direction": direction}, "payload": payload}
    if users is not None:
        data["includes"] = {"users": [{"id": u, "username": f"u{u[-2:]}", "name": "n"} for u in users]}
    return json.dumps({"data": data}).encode()


@pytest.mark.parametrize("author_key", ["tweet_author_id", "liked_tweet_author_id"])
def test_the_author_is_read_under_the_specs_name_or_the_facts_name(author_key: str) -> None:
    event = parse_stream_line(line({"liked_tweet_id": POST, author_key: AUTHOR,
                                    "created_at": "2026-12-01T20:00:00.000Z"}, users=[LIKER, AUTHOR]))
    assert event is not None
    assert (event.liked_post_id, event.liked_post_author_id) == (POST, AUTHOR)
    assert event.liker is not None and event.liker.id == LIKER
    assert event.created_at is not None and event.created_at.hour == 20


def test_the_liker_of_an_outbound_event_is_the_filtered_account() -> None:
    event = parse_stream_line(line({"liked_tweet_id": POST, "tweet_author_id": LIKER}, users=[LIKER, AUTHOR],
                                   direction="outbound"))
    assert event is not None and event.liker is not None and event.liker.id == AUTHOR


def test_only_the_author_in_includes_is_no_liker() -> None:
    event = parse_stream_line(line({"liked_tweet_id": POST, "tweet_author_id": AUTHOR}, users=[AUTHOR]))
    assert event is not None and event.liker is None


def test_keep_alives_and_other_events_are_nothing_and_garbage_is_refused() -> None:
    assert parse_stream_line(b"\r\n") is None
    assert parse_stream_line(b'{"data": {"event_type": "follow.follow", "payload": {}}}') is None
    assert parse_stream_line(b'{"errors": [{"title": "x", "type": "about:blank"}]}') is None
    for bad in (b"{not json", b"[1]", b'{"data": {"event_type": "like.create", "payload": {}}}'):
        with pytest.raises(errors.UndecodableResponse):
            parse_stream_line(bad)
