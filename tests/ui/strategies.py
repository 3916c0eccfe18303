"""Hypothesis strategies for what X may return: hostile names, bios and post texts of any length."""

from __future__ import annotations

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

nasty_text = st.one_of(
    st.sampled_from(NASTY),
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
    """A display page of up to 10 posts whose authors are in the includes."""
    items = tuple(draw(st.lists(posts, max_size=10)))
    authors = tuple(User(id=p.author_id, username=draw(nasty_text), name=draw(nasty_text))
                    for p in items if p.author_id)
    number, total = draw(page_numbers), draw(totals)
    return DisplayPage(items=items, number=number, includes=Includes(users=authors), has_previous=number > 0,
                       has_next=draw(st.booleans()), total_items=total, total_pages=_pages_of(total))
