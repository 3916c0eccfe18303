"""ui.csv_export: every liker one row, readable back, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tests.ui.strategies import users
from ui.csv_export import EXPORT_COLUMNS, likers_csv
from xapi.models import User


def read(data: bytes) -> list[list[str]]:
    csv.field_size_limit(10**7)
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@given(likers=st.lists(users, max_size=8))
def test_rows_read_back(likers: list[User]) -> None:
    rows = read(likers_csv(likers))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row[0] for row in rows[1:]] == [u.id for u in likers]
    for row, user in zip(rows[1:], likers, strict=True):
        # A name a spreadsheet would run as a formula gets one quote before it; any other is unchanged
        # (one that starts with a quote of its own keeps it).
        formula = user.name.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row[2] == ("'" + user.name if formula else user.name)
        assert not row[2].startswith(("=", "+", "-", "@"))


def test_one_liker() -> None:
    user = User(id="17", username="fan_1", name="=HYPERLINK(\"x\")", verified=True,
                created_at=datetime(2020, 5, 1, 12, 0, tzinfo=UTC), followers_count=3, following_count=4,
                post_count=5)
    expected = ["17", "fan_1", "'=HYPERLINK(\"x\")", "true", "2020-05-01T12:00:00Z", "3", "4", "5"]
    assert read(likers_csv([user]))[1] == expected


def test_a_name_that_starts_with_a_quote_of_its_own_is_kept_as_it_is() -> None:
    user = User(id="18", username="fan_2", name="'quoted'")
    assert read(likers_csv([user]))[1][2] == "'quoted'"
