"""Hypothesis strategies for what X may return: hostile names, bios and post texts of any length."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import strategies as st

from xapi.browse import DisplayPage
from xapi.models import Includes, Post, User

NASTY = (
    "@everyone", "@here", "<@&123456789012345678>", "<@123456789012345678>", "**bold** _x_ ~~s~~ ||spoiler||",
    "`code` ```block```", "> quote\n# heading", "[link](https://evil.example)", "\u200b\u200d\u2060\ufeff",
    "مرحبا بالعالم \u202e gnp.exe", "שלום", "👩🏽‍💻🏳️‍🌈🇯🇵", "\\", "\\\\*", "a" * 4000, "👍" * 4000,
    "\u200b" * 4000, "\\" * 4000, "_" * 4000, "@everyone " * 400, "\n" * 100,
)

# Characters that Discord's escaping doubles (or more): the longest rendering of a given length.
MARKDOWN_HEAVY = "\\*_`~|>#[]()@"
# Texts at or past every clip length the renderers use (50, 80, 120, 200, 280, 300, 400 characters).
long_markdown_text = st.text(alphabet=MARKDOWN_HEAVY, min_size=280, max_size=500)

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    long_markdown_text,
    st.text(max_size=300),
    st.lists(st.sampled_from(NASTY), max_size=6).map("".join),
    st.tuples(st.sampled_from(NASTY), st.integers(1, 60)).map(lambda t: t[0] * t[1]),
)
ids = st.from_regex(r"[1-9][0-9]{0,18}", fullmatch=True)
moments = st.one_of(st.none(), st.datetimes(
    min_value=datetime(2006, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)))
counts = st.one_of(st.none(), st.integers(0, 10**12))

posts = st.builds(
    Post, id=ids, text=nasty_text, author_id=st.one_of(st.none(), ids), created_at=moments,
    like_count=counts, retweet_count=counts, reply_count=counts, quote_count=counts,
)
users = st.builds(
    User, id=ids, username=st.one_of(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), nasty_text),
    name=nasty_text, verified=st.booleans(), protected=st.booleans(), created_at=moments,
    description=nasty_text, followers_count=counts, following_count=counts, post_count=counts,
    pinned_post_id=st.one_of(st.none(), ids),
)


page_numbers = st.integers(0, 9999)
totals = st.one_of(st.none(), st.integers(0, 10**6))


def worst_text(length: int) -> str:
    """length backslashes: the text that escaping expands most (each one becomes four)."""
    return "\\" * length


def worst_name(length: int) -> str:
    """A name that stays at its clip length once escaped (mentions get one zero-width space each)."""
    return ("@everyone " * length)[:length]


def worst_users(n: int = 10) -> tuple[User, ...]:
    """n likers with every field at its longest, and pinned posts 1..n (see worst_pinned_posts)."""
    return tuple(User(
        id="9" * 19 + str(i), username=worst_name(4000), name=worst_name(4000), verified=True, protected=True,
        created_at=datetime(2006, 3, 21, tzinfo=UTC), description=worst_text(4000), followers_count=10**12,
        following_count=10**12, post_count=10**12, pinned_post_id=str(i + 1),
    ) for i in range(n))


def worst_pinned_posts(n: int = 10) -> tuple[Post, ...]:
    """The pinned posts 1..n of worst_users, each longer than the pinned line's clip length."""
    return tuple(Post(id=str(i + 1), text="@everyone " * 400) for i in range(n))


def worst_posts(n: int = 10) -> tuple[Post, ...]:
    """n posts of 280 markdown-heavy characters by authors 1..n, every count at its longest."""
    return tuple(Post(
        id="1" * 19, text=worst_text(280), author_id=str(i + 1), created_at=datetime(2030, 1, 1, tzinfo=UTC),
        like_count=10**12, retweet_count=10**12, reply_count=10**12, quote_count=10**12,
    ) for i in range(n))


def worst_authors(n: int = 10) -> tuple[User, ...]:
    """The authors 1..n of worst_posts, names and usernames past their clip lengths."""
    return tuple(User(id=str(i + 1), username=worst_name(4000), name=worst_name(4000)) for i in range(n))


def _pages_of(total: int | None) -> int | None:
    return None if total is None else max(1, -(-total // 10))


@st.composite
def liker_pages(draw: st.DrawFn) -> DisplayPage[User]:
    """A display page of up to 10 likers whose pinned posts are in the includes."""
    items = tuple(draw(st.lists(users, max_size=10)))
    pinned = tuple(Post(id=u.pinned_post_id, text=draw(nasty_text)) for u in items if u.pinned_post_id)
    number, total = draw(page_numbers), draw(totals)
    return DisplayPage(items=items, number=number, includes=Includes(posts=pinned), has_previous=number > 0,
                       has_next=draw(st.booleans()), total_items=total, total_pages=_pages_of(total))


@st.composite
def post_pages(draw: st.DrawFn) -> DisplayPage[Post]:
    """A display page of up to 10 posts whose authors are in the includes (often 10 posts of long texts)."""
    long_posts = posts.map(lambda p: replace(p, text=p.text + worst_text(max(0, 280 - len(p.text)))))
    full_pages = st.lists(long_posts, min_size=10, max_size=10)
    items = tuple(draw(st.one_of(st.lists(posts, max_size=10), full_pages)))
    authors = tuple(User(id=p.author_id, username=draw(nasty_text), name=draw(nasty_text))
                    for p in items if p.author_id)
    number, total = draw(page_numbers), draw(totals)
    return DisplayPage(items=items, number=number, includes=Includes(users=authors), has_previous=number > 0,
                       has_next=draw(st.booleans()), total_items=total, total_pages=_pages_of(total))
