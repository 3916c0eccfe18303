"""Pure renderers of digest messages: the digest embed and the "tracking started" line.

Any input fits Discord's limits (title 256, description 4096, footer 2048, 6000 in all); the
lines that do not fit end in "and N more". Text from X is markdown-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import discord

from ui.embeds import CONTENT_LIMIT, DESCRIPTION_LIMIT, TITLE_LIMIT, link_username
from ui.text import clip, one_line, plural, safe
from xapi.models import User

# Leaves room for the footer that bot.stamp() adds and the "and N more" line.
DESCRIPTION_BUDGET = 3900
LINE_LIMIT = 300
DIGEST_COLOUR = discord.Colour(0x1D9BF0)

@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One new item: raw text from X (escaped here), a link, and optional context (which post)."""

    title: str
    url: str
    detail: str = ""
    # A liker's X id: the server member who linked it (/link) is shown beside it.
    x_user_id: str | None = None


def profile_url(user: User) -> str:
    """The user's X profile: as /likes, only a real X username goes into a URL; anything else links by id."""
    name = link_username(user.username)
    return f"https://x.com/{name}" if name else f"https://x.com/i/user/{quote(user.id[:25], safe='')}"


def _label(text: str, limit: int) -> str:
    """X text as a link label, literal on one line; brackets become parentheses (a `]` would end it)."""
    return safe(one_line(text).replace("[", "(").replace("]", ")"), limit)


def entry_line(entry: DigestEntry) -> str:
    """`• [title](url) detail`, within LINE_LIMIT."""
    title = _label(entry.title, 120) or "(untitled)"
    url = entry.url if len(entry.url) <= 150 and entry.url.startswith("https://") else ""
    line = f"• [{title}]({url})" if url else f"• {title}"
    if entry.detail and len(line) + 1 < LINE_LIMIT:
        # Outside the link: escaped as /likes escapes a name ("[link](…)" stays literal text).
        line += " " + safe(one_line(entry.detail), LINE_LIMIT - len(line) - 1)
    return clip(line, LINE_LIMIT)


def more_line(count: int) -> str:
    return f"…and {count} more"


def fit_lines(lines: Sequence[str], budget: int) -> list[str]:
    """As many lines as fit in budget characters (joined by newlines), then "…and N more" if any were left."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index
        # Keep room for the "and N more" line unless this is the last line.
        reserve = 0 if remaining == 1 else len(more_line(remaining)) + 1
        if used + len(line) + 1 + reserve > budget:
            shown.append(more_line(remaining))
            break
        shown.append(line)
        used += len(line) + 1
    return shown


def member_line(entry: DigestEntry, members: Mapping[str, int]) -> str:
    """entry_line, then the mention of the member who linked the liker's X account (embeds never ping)."""
    line = entry_line(entry)
    member_id = members.get(entry.x_user_id) if entry.x_user_id is not None else None
    if member_id is None:
        return line
    mention = f" · <@{int(member_id)}>"
    return clip(line, LINE_LIMIT - len(mention)) + mention


def render_digest(
    subject: str, entries: Sequence[DigestEntry], *, noun: str, members: Mapping[str, int] | None = None,
) -> discord.Embed:
    """The digest embed: subject as title, as many entries as fit, then "…and N more".

    `subject` is LikeLens' own text (already safe); `noun` names one item ("new liker"); `members`
    maps a linked liker's X id to the server member's id.
    """
    lines = fit_lines([member_line(entry, members or {}) for entry in entries], DESCRIPTION_BUDGET)
    title = clip(f"{plural(len(entries), noun)}: {subject}", TITLE_LIMIT)
    return discord.Embed(title=title, description="\n".join(lines)[:DESCRIPTION_LIMIT], colour=DIGEST_COLOUR)


def render_baseline(
    subject: str, count: int, *, noun: str, more: bool = False, listed: int | None = None
) -> str:
    """The first run's one line: tracking started, how many so far (no backlog); `noun` names one item.

    `listed`: how many of the `count` X lists, said when fewer (X lists at most 100 likers a post).
    """
    number, _, nouns = plural(count, noun).partition(" ")
    plus = "+" if more else ""
    of_them = f" (X lists {listed:,} of them)" if listed is not None and listed < count else ""
    return clip(f"Tracking started for {subject}: {number}{plus} {nouns} so far{of_them}.", CONTENT_LIMIT)
