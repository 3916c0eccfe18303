"""Pure embed renderers of /likes members, /likes top, /likes trend and the /link consent sentence.

Linked members appear as `<@id>` mentions inside embeds: Discord renders the member's name and
never pings from an embed (and every message passes `allowed_mentions=AllowedMentions.none()`).
Text from X is escaped; every embed stays within Discord's limits for any input (ui/embeds.fit).
The charts are attached by the caller under SUPPORTERS_CHART / TREND_CHART and shown as the
embed's image; each embed carries the chart's text summary for people who cannot see images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from ui.charts import LikeSample, MarkedLiker, SupporterBar, supporters_summary, trend_summary
from ui.embeds import (
    COLOUR,
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    FOOTER_LIMIT,
    FOOTER_RESERVE,
    PRIVATE_LIKES_NOTE,
    TITLE_LIMIT,
    counted,
    fit,
    link_username,
    profile_link,
)
from ui.text import clip, plural, safe
from xapi.models import Post, User

SUPPORTERS_CHART = "supporters.png"
TREND_CHART = "trend.png"
BOARD_ROWS = 20
NEWEST_LIKERS_SHOWN = 5
RECOGNITION_NOTE = "Recognition only: LikeLens gives nothing for a like."


def consent_sentence(account_handle: str | None) -> str:
    """The one sentence /link shows before the member consents (the account's handle escaped)."""
    account = safe("@" + account_handle, 51) + "'s" if account_handle else "this server's X account's"
    return (f"Your X handle will be shown to this server's moderators beside your likes of {account} posts. "
            "`/unlink` removes it.")


def _shown(text: str, limit: int, markdown: bool) -> str:
    return safe(text, limit) if markdown else clip(text, limit)


def linked_sentence(handle: str, server_name: str, *, markdown: bool) -> str:
    """What the callback page (markdown=False: plain text, HTML-escaped by the page) or Discord
    (markdown=True: escaped) says once the member's X account is linked."""
    server = _shown(server_name, 100, markdown)
    return f"Linked {_shown('@' + handle, 51, markdown)} to your account on {server}."


def already_linked_sentence(handle: str, *, markdown: bool) -> str:
    """The refusal when another member of the server has linked that X account (who is not said)."""
    return (f"{_shown('@' + handle, 51, markdown)} is already linked to another member of this server, "
            "so nothing was linked.")


def unlinked_sentence(handle: str | None) -> str:
    """The /unlink answer (Discord, escaped): what was removed, or that there was nothing to remove."""
    if handle is None:
        return "Your Discord account here is not linked to an X account: nothing to remove."
    return f"Unlinked {safe('@' + handle, 51)}: moderators no longer see it beside your likes."


@dataclass(frozen=True, slots=True)
class LinkedLiker:
    """A liker of the post who linked their X account to a member of this server."""

    member_id: int
    x_user_id: str
    handle: str


def _base(title: str, description: str, footer: str) -> discord.Embed:
    embed = discord.Embed(title=clip(title, TITLE_LIMIT), colour=COLOUR,
                          description=clip(description, DESCRIPTION_LIMIT))
    if footer:
        embed.set_footer(text=clip(footer, FOOTER_LIMIT - FOOTER_RESERVE))
    return embed


def _mention(member_id: int) -> str:
    return f"<@{int(member_id)}>"


def _handle_link(x_user_id: str, handle: str) -> str:
    return profile_link(User(id=x_user_id, username=handle, name=""))


def _lines_within(lines: Sequence[str], limit: int, more: str) -> str:
    """As many whole lines as fit in limit, then `more` (formatted with how many were left out)."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        # Room for this line, and for the "more" line unless this is the last line.
        needed = len(line) + (0 if last else len(more.format(len(lines))) + 1)
        if used + needed > limit:
            return clip("\n".join([*kept, more.format(len(lines) - index)]), limit)
        kept.append(line)
        used += len(line) + 1
    return clip("\n".join(kept), limit)


def render_members(
    post_id: str, linked: Sequence[LinkedLiker], *, unlinked: int, listed: int, like_count: int | None,
    author_username: str | None = None, footer: str = "",
) -> discord.Embed:
    """/likes members: the linked members among the post's likers, and how many likers are not linked."""
    post_url = Post(id=post_id, text="").url(link_username(author_username))
    head = [f"❤️ {counted(like_count, 'like')} on X · [open the post]({post_url})"]
    if like_count is not None and listed < like_count:
        head.append(f"X lists {listed:,} of the {plural(like_count, 'like')}: {PRIVATE_LIKES_NOTE}")
    if linked:
        head.append(f"**{plural(len(linked), 'linked member')}** liked it:")
    else:
        head.append("No linked member of this server is among the likers X lists.")
    verb = "is" if unlinked == 1 else "are"
    tail = f"{plural(unlinked, 'liker')} {verb} not linked."
    lines = [f"{_mention(m.member_id)} · {_handle_link(m.x_user_id, m.handle)}" for m in linked]
    room = DESCRIPTION_LIMIT - sum(len(h) + 1 for h in head) - len(tail) - 2
    body = _lines_within(lines, max(1, room), "…and {} more linked members.") if lines else ""
    description = "\n".join([*head, *([body] if body else []), tail])
    return fit(_base("Linked members who liked this post", description, footer or RECOGNITION_NOTE))


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One supporter on the board: X id and handle, posts liked, the linked member if any."""

    x_user_id: str
    handle: str
    posts_liked: int
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class BoardFacts:
    """What the board was built from and what it cost."""

    account_handle: str | None
    days: int
    posts_in_period: int
    posts_read: int
    posts_waiting: int
    cost_low: float
    cost_high: float
    listing_complete: bool = True


def board_bars(rows: Sequence[BoardRow]) -> list[SupporterBar]:
    """The chart's bars for these rows (linked members marked)."""
    return [SupporterBar(r.handle, r.posts_liked, r.member_id is not None) for r in rows]


def render_top(
    rows: Sequence[BoardRow], facts: BoardFacts, *, chart_attached: bool = True, footer: str = "",
) -> discord.Embed:
    """/likes top: the supporters ranked by posts liked, how it was read and its cost, the chart."""
    account = safe("@" + facts.account_handle, 51) if facts.account_handle else "the server's X account"
    title = f"Supporters of {account} · last {facts.days} days"
    read = (f"{plural(facts.posts_read, 'post')} read from X now (about ${facts.cost_low:.2f} to "
            f"${facts.cost_high:.2f} at X's prices), the others from what LikeLens recorded")
    lines = [f"From {plural(facts.posts_in_period, 'post')} of the period: {read}."]
    if facts.posts_waiting:
        lines.append(f"{plural(facts.posts_waiting, 'post')} not read yet (X's rate limit): "
                     "run `/likes top` again later to count them.")
    if not facts.listing_complete:
        lines.append("The period holds more posts than LikeLens lists at once: the newest were counted.")
    if not rows:
        lines.append("No likes recorded in this period yet.")
    ranks = []
    for rank, row in enumerate(rows[:BOARD_ROWS], start=1):
        member = f" · {_mention(row.member_id)}" if row.member_id is not None else ""
        ranks.append(f"{rank}. {_handle_link(row.x_user_id, row.handle)}{member} · "
                     f"{plural(row.posts_liked, 'post')} liked")
    facts_text = "\n".join(lines)
    if ranks:
        room = DESCRIPTION_LIMIT - len(facts_text) - 2
        facts_text += "\n\n" + _lines_within(ranks, max(1, room), "…and {} more.")
    embed = _base(title, facts_text, footer or RECOGNITION_NOTE)
    if ranks:
        summary = clip(supporters_summary(board_bars(rows)), FIELD_VALUE_LIMIT)
        embed.add_field(name="Chart (text)", value=summary, inline=False)
        if chart_attached:
            embed.set_image(url=f"attachment://{SUPPORTERS_CHART}")
    return fit(embed)


def render_trend(
    post_id: str, samples: Sequence[LikeSample], newest: Sequence[MarkedLiker], *,
    author_username: str | None = None, chart_attached: bool = True, footer: str = "",
) -> discord.Embed:
    """/likes trend: the post's like count over time (or why there is too little history yet)."""
    post_url = Post(id=post_id, text="").url(link_username(author_username))
    lines = [f"[Open the post]({post_url})"]
    if len(samples) < 2:
        lines.append(f"Too little history yet: LikeLens has recorded {plural(len(samples), 'like count')} "
                     "of this post. It records one whenever it reads the post, so look again later.")
        return fit(_base("Likes over time", "\n".join(lines), footer))
    # The summary escapes what comes from X itself.
    lines.append(trend_summary(samples, newest))
    embed = _base("Likes over time", "\n".join(lines), footer)
    if newest:
        shown = sorted(newest, key=lambda m: m.first_seen, reverse=True)[:NEWEST_LIKERS_SHOWN]
        value = "\n".join(f"{safe('@' + m.handle, 51)} · {discord.utils.format_dt(m.first_seen, 'R')}"
                          for m in shown)
        embed.add_field(name="Newest likers", value=clip(value, FIELD_VALUE_LIMIT), inline=False)
    if chart_attached:
        embed.set_image(url=f"attachment://{TREND_CHART}")
    return fit(embed)
