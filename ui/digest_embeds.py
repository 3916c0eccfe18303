"""Pure renderers of digest messages: the digest embed and the "tracking started" line.

Any input fits Discord's limits (title 256, description 4096, footer 2048, 6000 in all); the
lines that do not fit end in "and N more". Text from X is markdown-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
# Leaves room for the footer that bot.stamp() adds and the "and N more" line.
DESCRIPTION_BUDGET = 3900
LINE_LIMIT = 300
CONTENT_LIMIT = 2000
DIGEST_COLOUR = discord.Colour(0x1D9BF0)


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One new item: raw text from X (escaped here), a link, and optional context (which post)."""

    title: str
    url: str
    detail: str = ""


def escape(text: str) -> str:
    """X text shown literally: markdown escaped, mentions defused, one line, no link brackets."""
    flat = " ".join(text.split()).replace("[", "(").replace("]", ")")
    return discord.utils.escape_mentions(discord.utils.escape_markdown(flat))


def clip(text: str, limit: int) -> str:
    """text in at most limit characters, ending in … when cut (never after a lone backslash)."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    while cut.endswith("\\") and (len(cut) - len(cut.rstrip("\\"))) % 2 == 1:
        cut = cut[:-1]
    return cut + "…"


def entry_line(entry: DigestEntry) -> str:
    """`• [title](url) detail`, within LINE_LIMIT."""
    title = clip(escape(entry.title) or "(untitled)", 120)
    url = entry.url if len(entry.url) <= 150 and entry.url.startswith("https://") else ""
    line = f"• [{title}]({url})" if url else f"• {title}"
    if entry.detail:
        line += " " + clip(escape(entry.detail), max(LINE_LIMIT - len(line) - 1, 0))
    return clip(line, LINE_LIMIT)


def more_line(count: int) -> str:
    return f"…and {count} more"


def render_digest(subject: str, entries: Sequence[DigestEntry], *, noun: str) -> discord.Embed:
    """The digest embed: subject as title, as many entries as fit, then "…and N more".

    `subject` is LikeLens' own text (already safe); `noun` names the items ("new likers").
    """
    lines: list[str] = []
    used = 0
    for index, entry in enumerate(entries):
        line = entry_line(entry)
        remaining = len(entries) - index
        # Keep room for the "and N more" line unless this is the last entry.
        reserve = 0 if remaining == 1 else len(more_line(remaining)) + 1
        if used + len(line) + 1 + reserve > DESCRIPTION_BUDGET:
            break
        lines.append(line)
        used += len(line) + 1
    hidden = len(entries) - len(lines)
    if hidden:
        lines.append(more_line(hidden))
    title = clip(f"{len(entries)} {noun}: {subject}", TITLE_LIMIT)
    return discord.Embed(title=title, description="\n".join(lines)[:DESCRIPTION_LIMIT], colour=DIGEST_COLOUR)


def render_baseline(subject: str, count: int, *, noun: str, more: bool = False) -> str:
    """The first run's one line: tracking started, how many so far (no backlog)."""
    plus = "+" if more else ""
    return clip(f"Tracking started for {subject}: {count}{plus} {noun} so far.", CONTENT_LIMIT)
