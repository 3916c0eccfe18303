"""Text from X made safe for Discord: markdown and mentions escaped, clipped to a length."""

from __future__ import annotations

import discord

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """text cut to at most `limit` characters, ending in … when cut (and never in a lone backslash)."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    # A trailing odd backslash would escape the ellipsis (or a closing character after it).
    while cut.endswith("\\") and (len(cut) - len(cut.rstrip("\\"))) % 2 == 1:
        cut = cut[:-1]
    return cut + ELLIPSIS


def escape(text: str) -> str:
    """Markdown and mentions in text shown literally (no formatting, no ping, no role/user tag)."""
    # A backslash from X must not escape what LikeLens writes after it (e.g. a link's closing bracket).
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text.replace("\\", "\\\\")))


def safe(text: str, limit: int) -> str:
    """escape(text) in at most `limit` characters: the source is clipped, so no escape is cut in half."""
    # Escaping never shortens: a text longer than limit is not escaped whole (it may be huge).
    if len(text) <= limit and len(escaped := escape(text)) <= limit:
        return escaped
    # The longest clip of the source whose escaped form fits (escaping can quadruple a character).
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if len(escape(clip(text, middle))) <= limit:
            low = middle
        else:
            high = middle - 1
    # At 0 the text is a lone "…", which fits any limit of 1 or more.
    return escape(clip(text, low))[:limit]


def one_line(text: str) -> str:
    """text with line breaks (and other whitespace runs) collapsed to single spaces."""
    return " ".join(text.split())


def first_line(text: str) -> str:
    """The first non-blank line of text."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """count with thousands separators and the noun agreeing with it: "1 liker", "1,234 likers"."""
    # Only exactly one is singular in English: 0 likers, 1 liker, 2 likers, -1 likers.
    noun = singular if count == 1 else (plural if plural is not None else singular + "s")
    return f"{count:,} {noun}"
