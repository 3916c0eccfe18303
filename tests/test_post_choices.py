"""The pure parts of cogs/post_choices.py: choice names within Discord's limits, matching, ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cogs.post_choices import MAX_CHOICES, NAME_LIMIT, age_label, choice_name, post_choices, subject_choices
from xapi.models import Post

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def post(post_id: str, text: str, hours_ago: float = 3) -> Post:
    return Post(id=post_id, text=text, created_at=NOW - timedelta(hours=hours_ago))


@pytest.mark.parametrize(("seconds", "label"), [
    (-5, "now"), (30, "now"), (60, "1m"), (59 * 60, "59m"), (3600, "1h"), (23.9 * 3600, "23h"),
    (24 * 3600, "1d"), (364 * 86400, "364d"), (365 * 86400, "1y"), (800 * 86400, "2y"),
])
def test_ages_read_as_a_short_list_reads_them(seconds: float, label: str) -> None:
    assert age_label(seconds) == label


def test_a_long_post_is_clipped_to_discords_100_characters_on_one_line() -> None:
    name = choice_name(post("1", "Launch day!\nWe're live " + "x" * 300), NOW.timestamp())
    assert len(name) == NAME_LIMIT
    assert name.startswith("3h · Launch day! We're live x") and name.endswith("…")


def test_a_post_without_text_or_date_still_has_a_name() -> None:
    assert choice_name(Post(id="42", text="  \n "), NOW.timestamp()) == "post 42"


def test_at_most_25_choices_newest_first() -> None:
    posts = tuple(post(str(1000 + n), f"post number {n}", hours_ago=n) for n in range(40))
    choices = post_choices(posts, "", NOW.timestamp())
    assert len(choices) == MAX_CHOICES
    assert [c.value for c in choices[:2]] == ["1000", "1001"]


def test_a_pasted_link_is_offered_first_once_with_the_cached_text() -> None:
    posts = (post("1860000000000000002", "gm ☀️"), post("1860000000000000003", "other"))
    choices = post_choices(posts, " <https://x.com/a/status/1860000000000000002> ", NOW.timestamp())
    assert [(c.name, c.value) for c in choices] == [("3h · gm ☀️", "1860000000000000002")]


def test_the_subject_words_match_what_was_typed() -> None:
    posts = (post("1", "liked by many"),)
    assert [c.value for c in subject_choices(posts, "", NOW.timestamp())] == ["liked", "recent", "1"]
    assert [c.value for c in subject_choices(posts, "Liked", NOW.timestamp())] == ["liked", "1"]
    assert [c.value for c in subject_choices(posts, "zzz", NOW.timestamp())] == []
