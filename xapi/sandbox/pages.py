"""Opaque pagination tokens of the X sandbox and cutting ordered lists into pages with them.

A token names the endpoint, the subject and a like/post sequence number, so pages stay stable when
new items arrive at the top and a token of one list is refused on another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Literal

Direction = Literal["next", "prev"]
_TOKEN_KEY = b"likelens-sandbox-pagination"


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: strictly older (`next`) or strictly newer (`prev`) than `seq`."""

    direction: Direction
    seq: int


def encode_token(scope: str, cursor: Cursor) -> str:
    """A base32hex token like X's, bound to `scope` (endpoint and subject) by a short digest."""
    payload = f"{cursor.direction[0]}{cursor.seq}"
    digest = hashlib.blake2s(f"{scope}|{payload}".encode(), key=_TOKEN_KEY, digest_size=5).digest()
    raw = base64.b32hexencode(digest + payload.encode()).decode().rstrip("=").lower()
    return raw


def decode_token(scope: str, token: str) -> Cursor | None:
    """The cursor in `token`, or None when it is malformed or belongs to another list."""
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        raw = base64.b32hexdecode(padded)
        payload = raw[5:].decode()
        direction: Direction = "next" if payload[:1] == "n" else "prev"
        if payload[:1] not in ("n", "p") or not payload[1:].isdigit():
            return None
        cursor = Cursor(direction, int(payload[1:]))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return cursor if encode_token(scope, cursor) == token else None


@dataclass(frozen=True, slots=True)
class PageCut:
    """The ids of one page and the cursors to its neighbours."""

    ids: list[str]
    next_cursor: Cursor | None
    prev_cursor: Cursor | None


def cut_page(entries: list[tuple[int, str]], cursor: Cursor | None, size: int) -> PageCut:
    """One page of `entries` (sorted newest first by sequence) starting at `cursor`."""
    if cursor is None:
        start, end = 0, min(size, len(entries))
    elif cursor.direction == "next":
        start = next((i for i, (seq, _) in enumerate(entries) if seq < cursor.seq), len(entries))
        end = min(start + size, len(entries))
    else:
        end = next((i for i, (seq, _) in enumerate(entries) if seq <= cursor.seq), len(entries))
        start = max(0, end - size)
    page = entries[start:end]
    if not page:
        return PageCut([], None, None)
    next_cursor = Cursor("next", page[-1][0]) if end < len(entries) else None
    prev_cursor = Cursor("prev", page[0][0]) if start > 0 else None
    return PageCut([item for _, item in page], next_cursor, prev_cursor)
