"""The /likes export file: every liker as one CSV row, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from xapi.models import User

EXPORT_COLUMNS = ("id", "username", "name", "verified", "created_at", "followers", "following", "posts")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def likers_csv(likers: Iterable[User]) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheets read emoji and RTL names right) of the likers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for user in likers:
        writer.writerow([
            user.id, _cell(user.username), _cell(user.name), "true" if user.verified else "false",
            user.created_at.isoformat().replace("+00:00", "Z") if user.created_at else "",
            _number(user.followers_count), _number(user.following_count), _number(user.post_count),
        ])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
