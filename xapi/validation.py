"""Local checks of the caller's input, so that nothing malformed is ever sent to X."""

from __future__ import annotations

import re
from collections.abc import Sequence

from xapi.errors import InvalidInput

# X's patterns for ids and usernames (its OpenAPI spec), shared by the client, refs and the sandbox.
ID_PATTERN = re.compile(r"[0-9]{1,19}", re.ASCII)
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_]{1,15}", re.ASCII)
_TOKEN = re.compile(r"[\x21-\x7e]{1,512}")


def check_id(value: object, what: str = "id") -> str:
    """Return `value` if it is an X id (1 to 19 digits), else raise InvalidInput."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise InvalidInput(f"The {what} must be 1 to 19 digits, for example 1346889436626259968.")
    return value


MAX_BATCH_IDS = 100


def check_ids(values: object, what: str = "id") -> list[str]:
    """`values` deduplicated (first occurrence kept) if they are 1 to 100 X ids, else raise InvalidInput."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise InvalidInput(f"Give the {what}s as a list of ids, not as one text.")
    ids = list(dict.fromkeys(check_id(value, what) for value in values))
    if not 1 <= len(ids) <= MAX_BATCH_IDS:
        raise InvalidInput(f"Look up 1 to {MAX_BATCH_IDS} {what}s at once (got {len(ids)}).")
    return ids


def check_username(value: object) -> str:
    """Return `value` if it is an X username (1-15 letters, digits or _), else raise InvalidInput."""
    if not isinstance(value, str) or not USERNAME_PATTERN.fullmatch(value):
        raise InvalidInput("A username is 1 to 15 letters, digits or underscores, without the @.")
    return value


def check_max_results(value: object, low: int, high: int) -> int:
    """Return `value` if it is an int within [low, high], else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"max_results must be a whole number from {low} to {high}.")
    return value


def check_token(value: object) -> str | None:
    """Return `value` if it is None or a non-empty printable pagination token, else raise InvalidInput."""
    if value is None:
        return None
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidInput("The pagination token must be a non-empty token taken from a previous page.")
    return value
