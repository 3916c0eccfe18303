"""Pure embed renderers of the /likes answers: text from X escaped, every embed within Discord's limits.

(A little over 300 lines: the /likes renderers share one set of limits and escaping helpers, and
the hypothesis tests in tests/ui hold them all against Discord's limits together.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import discord

from ui.text import clip, escape, first_line, one_line, plural, safe
from xapi.browse import DisplayPage
from xapi.models import Includes, Post, User
from xapi.ratelimit import RateBudget
from xapi.stats import ClientStats

# Discord's embed limits.
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
CONTENT_LIMIT = 2000
# What bot.stamp may add to a footer later (the simulated-data note); kept free in every embed.
FOOTER_RESERVE = 64
TOTAL_RESERVE = 64

HEADER_TEXT_CHARS = 200
PINNED_CHARS = 120
POST_TEXT_CHARS = 280
NAME_CHARS = 80
# X's published pay-per-use prices per item read (x-api-facts.md, 2026-08 price list).
PRICE_PER_ITEM = {"posts": 0.005, "users": 0.010}

# Why X lists fewer likers than the like count.
PRIVATE_LIKES_NOTE = "it returns at most 100 likers per post and leaves out protected and suspended accounts."

COLOUR = discord.Colour(0x1D9BF0)
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}", re.ASCII)


@dataclass(frozen=True, slots=True)
class PostHeader:
    """What the likers pages show about the post: its text (first 200 characters) and like count."""

    post_id: str
    text: str
    like_count: int | None
    author_username: str | None = None


def timestamp(moment: datetime | None, style: discord.utils.TimestampStyle = "R") -> str:
    """A Discord timestamp tag (rendered in each reader's time zone), or "unknown"."""
    return discord.utils.format_dt(moment, style) if moment is not None else "unknown"


def count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def counted(value: int | None, singular: str) -> str:
    """plural(value, singular), or "? <plural>" when X did not say."""
    return f"? {singular}s" if value is None else plural(value, singular)


def link_username(username: str | None) -> str | None:
    """username when it is a real X username (safe in a URL), else None."""
    return username if username and _USERNAME.fullmatch(username) else None


def profile_link(user: User) -> str:
    """`[@handle](https://x.com/handle)`, escaped and safe whatever the username holds."""
    if link_username(user.username) is None:
        label = f"@{safe(user.username, 50)}" if user.username else f"id:{safe(user.id, 25)}"
        return f"[{label}](https://x.com/i/user/{quote(user.id[:25], safe='')})"
    return f"[@{safe(user.username, 50)}](https://x.com/{user.username})"


def page_label(page: DisplayPage[User] | DisplayPage[Post]) -> str:
    """ "Page N", or "Page N of M" once the end is known."""
    if page.total_pages is None:
        return f"Page {page.number + 1}"
    return f"Page {page.number + 1} of {page.total_pages}"


def fit(embed: discord.Embed) -> discord.Embed:
    """Shorten the longest field values (all to one cap) until the embed fits 6000 minus a reserve."""
    budget = EMBED_TOTAL_LIMIT - TOTAL_RESERVE
    excess = len(embed) - budget
    if excess > 0 and embed.fields:
        lengths = [len(f.value or "") for f in embed.fields]
        keep = sum(lengths) - excess
        # The largest cap on every value's length that removes the excess (at least 1 character each).
        low, high = 1, max(lengths)
        while low < high:
            middle = (low + high + 1) // 2
            if sum(min(n, middle) for n in lengths) <= keep:
                low = middle
            else:
                high = middle - 1
        for index, field in enumerate(list(embed.fields)):
            if len(field.value or "") > low:
                embed.set_field_at(index, name=field.name or "\u200b", value=clip(field.value or "", low),
                                   inline=field.inline)
    if len(embed) > budget and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - (len(embed) - budget)))
    while len(embed) > budget and embed.fields:
        embed.remove_field(len(embed.fields) - 1)
    return embed


def _base(title: str, description: str = "", footer: str = "") -> discord.Embed:
    embed = discord.Embed(title=clip(title, TITLE_LIMIT), colour=COLOUR)
    if description:
        embed.description = clip(description, DESCRIPTION_LIMIT)
    if footer:
        embed.set_footer(text=clip(footer, FOOTER_LIMIT - FOOTER_RESERVE))
    return embed


def _quote(text: str, limit: int) -> str:
    lines = escape(clip(text, limit)).splitlines() or [""]
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def liker_field(
    user: User, includes: Includes, position: int, member_id: int | None = None,
) -> tuple[str, str]:
    """(field name, field value) of one liker: name, linked handle (and the server member who linked
    it, as a mention: embeds never ping), verified mark, age, followers, pinned."""
    display = safe(one_line(user.name), NAME_CHARS) or safe(one_line(user.username), 50) or f"id:{user.id}"
    name = f"{position}. {display}" + (" ☑️" if user.verified else "")
    member = [f"<@{int(member_id)}>"] if member_id is not None else []
    parts = [profile_link(user), *member, f"joined {timestamp(user.created_at)}",
             counted(user.followers_count, "follower")]
    value = " · ".join(parts)
    pinned = includes.post(user.pinned_post_id)
    if pinned is not None and first_line(pinned.text):
        value += f"\n📌 {safe(one_line(first_line(pinned.text)), PINNED_CHARS)}"
    return clip(name, FIELD_NAME_LIMIT), clip(value, FIELD_VALUE_LIMIT)


def render_likers_page(
    page: DisplayPage[User], header: PostHeader, *, per_page: int = 10, footnote: str = "", footer: str = "",
    members: Mapping[str, int] | None = None,
) -> discord.Embed:
    """One display page of a post's likers, under the post's header; `members`: X id → the id of the
    server member who linked that X account (/link)."""
    post_url = Post(id=header.post_id, text="").url(link_username(header.author_username))
    lines = [_quote(header.text, HEADER_TEXT_CHARS) if header.text else "> (no text)",
             f"❤️ {counted(header.like_count, 'like')} on X · [open the post]({post_url})"]
    returned = page.total_items
    if returned is not None and header.like_count is not None and returned < header.like_count:
        lines.append(f"X lists {returned:,} of the {plural(header.like_count, 'like')}: {PRIVATE_LIKES_NOTE}")
    if not page.items:
        lines.append("Nobody X can show has liked this post yet.")
    if footnote:
        lines.append(f"-# {safe(one_line(footnote), 300)}")
    embed = _base("Who liked this post", "\n".join(lines), footer or page_label(page))
    first = page.number * per_page + 1
    for offset, user in enumerate(page.items[:FIELD_COUNT_LIMIT]):
        name, value = liker_field(user, page.includes, first + offset, (members or {}).get(user.id))
        embed.add_field(name=name, value=value, inline=False)
    return fit(embed)


@dataclass(frozen=True, slots=True)
class PostParts:
    """One post's field: its name, its text (not yet escaped) and the tail shown whole after it."""

    name: str
    text: str
    tail: str

    def value(self, text_chars: int) -> str:
        """The field value with the text escaped in at most text_chars characters."""
        room = max(1, min(text_chars, FIELD_VALUE_LIMIT - len(self.tail)))
        text = safe(self.text, room) if self.text else "(no text)"
        return clip(text + self.tail, FIELD_VALUE_LIMIT)


def post_parts(post: Post, includes: Includes, position: int) -> PostParts:
    """The parts of one post's field: author, text, created time, public metrics, link."""
    author = includes.user(post.author_id)
    who = "unknown author"
    if author is not None:
        shown = safe(one_line(author.name), NAME_CHARS) or f"id:{author.id}"
        who = f"{shown} (@{safe(author.username, 50)})"
    metrics = (f"❤️ {count(post.like_count)} · 🔁 {count(post.retweet_count)} · "
               f"💬 {count(post.reply_count)} · 🗨️ {count(post.quote_count)}")
    link = f"[open]({post.url(link_username(author.username) if author else None)})"
    tail = f"\n{timestamp(post.created_at, 'f')} · {metrics} · {link}"
    return PostParts(clip(f"{position}. {who}", FIELD_NAME_LIMIT), clip(post.text, POST_TEXT_CHARS), tail)


def shared_text_chars(parts: Sequence[PostParts], room: int) -> int:
    """The largest common length of the posts' escaped texts whose values fit in room characters."""
    fixed = sum(len(p.name) + len(p.tail) for p in parts)
    # Escaped at full length once; safe(text, n) is never longer than n nor than the full escape.
    full = [len(escape(p.text)) if p.text else len("(no text)") for p in parts]
    low, high = 1, FIELD_VALUE_LIMIT
    while low < high:
        middle = (low + high + 1) // 2
        if fixed + sum(min(n, middle) for n in full) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def render_liked_page(
    page: DisplayPage[Post], account: str, *, per_page: int = 10, footnote: str = "", footer: str = "",
) -> discord.Embed:
    """One display page of the posts `account` (a handle, without @) liked, newest like first.

    Ten posts of 280 markdown-heavy characters escape to more than 6000: the post texts share what
    is left of the embed, so every post keeps its start, time, metrics and link.
    """
    description = "" if page.items else "No liked posts."
    if footnote:
        description = f"{description}\n-# {safe(one_line(footnote), 300)}".strip()
    embed = _base(f"Posts liked by @{safe(account, 50)}", description, footer or page_label(page))
    first = page.number * per_page + 1
    parts = [post_parts(post, page.includes, first + offset)
             for offset, post in enumerate(page.items[:FIELD_COUNT_LIMIT])]
    text_chars = shared_text_chars(parts, EMBED_TOTAL_LIMIT - TOTAL_RESERVE - len(embed))
    for part in parts:
        embed.add_field(name=part.name, value=part.value(text_chars), inline=False)
    return fit(embed)


def user_card(user: User) -> tuple[str, str]:
    """(field name, field value) describing one X account."""
    if not user.username:
        # Known by its id only (X always gives a username): a link, and no placeholders for the rest.
        name = safe(one_line(user.name), NAME_CHARS) or f"X account {safe(user.id, 25)}"
        return name, f"{profile_link(user)} · not looked up on X (LikeLens knows only its id)"
    name, value = liker_field(user, Includes(), 0)
    name = name.removeprefix("0. ")
    if user.protected:
        value += "\n🔒 protected account"
    if user.description:
        value += f"\n{safe(one_line(user.description), 200)}"
    return name, clip(value, FIELD_VALUE_LIMIT)


def render_check(user: User, post_id: str, liked: bool, *, note: str = "", footer: str = "") -> discord.Embed:
    """The yes/no answer of /likes check, with the user's card."""
    title = "Yes: they liked this post" if liked else "No: not among the post's likers"
    link = Post(id=post_id, text="").url()
    description = f"[The post]({link})" + (f"\n-# {safe(one_line(note), 400)}" if note else "")
    embed = _base(title, description, footer)
    embed.colour = discord.Colour.green() if liked else discord.Colour.light_grey()
    name, value = user_card(user)
    embed.add_field(name=name, value=value, inline=False)
    return fit(embed)


def estimated_cost(items_read: dict[str, int]) -> float:
    """Today's reads at X's published per-item prices (an estimate: X bills an item once a day)."""
    return sum(PRICE_PER_ITEM.get(kind, 0.0) * n for kind, n in items_read.items())


def render_status(
    me: User | None, budgets: Sequence[RateBudget], stats: ClientStats, *, me_error: str = "",
    footer: str = "", notices: Sequence[str] = (), handle: str | None = None, how: str = "",
    read_today: str = "",
) -> discord.Embed:
    """The /likes status answer: connected account, budgets per endpoint, today's figures and cost.

    handle: the account's @handle when known without X (a connected account); how: how it serves the
    server ("connected by <@member> <t:…:R>", "configured in the environment", "sandbox");
    read_today: the server's reads against its daily cap ("Read today: N of CAP items").
    """
    served = f" ({how})" if how else ""
    if me is not None:
        account = f"{safe(one_line(me.name), NAME_CHARS)} ({profile_link(me)}){served}"
    elif handle:
        why = f"\n-# {safe(one_line(me_error), 500)}" if me_error else ""
        account = f"@{safe(handle, 50)}{served}{why}"
    else:
        # The reason goes on its own line: it is a sentence, not the account's name.
        account = "unknown" + (f"\n-# {safe(one_line(me_error), 500)}" if me_error else "")
    notes = "".join(f"\n{safe(one_line(note), 300)}" for note in notices)
    embed = _base("LikeLens status", f"Connected X account: {account}{notes}", footer)
    if budgets:
        lines = [f"`{b.endpoint}`: {b.remaining}/{b.limit} left, resets {timestamp(b.reset_at)}"
                 for b in budgets[:20]]
        budget_text = clip("\n".join(lines), FIELD_VALUE_LIMIT)
    else:
        budget_text = "No request sent to X yet."
    embed.add_field(name="Rate-limit budget per endpoint", value=budget_text, inline=False)
    users, posts = stats.items_read.get("users", 0), stats.items_read.get("posts", 0)
    embed.add_field(name="Today (UTC)", value=(
        f"Requests sent: {stats.requests_sent:,}\nCache hits: {stats.cache_hits:,}\n"
        f"Single-flight joins: {stats.singleflight_joins:,}\n"
        f"Items read: {plural(users, 'user')}, {plural(posts, 'post')}"
        + (f"\n{read_today}" if read_today else "")
    ), inline=False)
    embed.add_field(name="Estimated cost today", value=(
        f"about ${estimated_cost(stats.items_read):.2f} (estimate at X's prices: users $0.010, posts $0.005 "
        "per item; X bills an item once a day, so the real bill may be lower)"
    ), inline=False)
    return fit(embed)
