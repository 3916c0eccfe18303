"""ui.embeds: whatever X returns, every embed fits Discord's limits and nothing in it can ping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ui.strategies import ids, liker_pages, nasty_text, post_pages, users
from ui.embeds import (
    PostHeader,
    estimated_cost,
    page_label,
    render_check,
    render_liked_page,
    render_likers_page,
    render_status,
)
from xapi.browse import DisplayPage
from xapi.models import Includes, Post, User
from xapi.ratelimit import RateBudget
from xapi.stats import ClientStats

SANDBOX_NOTE = " · Simulated data (LikeLens X sandbox)"
PINGS = re.compile(r"@(everyone|here)|<@[!&]?[0-9]+>")


def texts_of(embed: discord.Embed) -> list[str]:
    data = embed.to_dict()
    found = [data.get("title", ""), data.get("description", ""), data.get("footer", {}).get("text", ""),
             data.get("author", {}).get("name", "")]
    for field in data.get("fields", []):
        found += [field["name"], field["value"]]
    return [str(t) for t in found]


def assert_within_discord_limits(embed: discord.Embed) -> None:
    data = embed.to_dict()
    assert len(data.get("title", "")) <= 256
    assert len(data.get("description", "")) <= 4096
    assert len(data.get("author", {}).get("name", "")) <= 256
    fields = data.get("fields", [])
    assert len(fields) <= 25
    for field in fields:
        assert 0 < len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
    assert len(data.get("footer", {}).get("text", "")) <= 2048
    assert len(embed) <= 6000
    # bot.stamp may still add the simulated-data note to the footer.
    embed.set_footer(text=(embed.footer.text or "") + SANDBOX_NOTE)
    assert len(embed) <= 6000 and len(embed.footer.text or "") <= 2048


def assert_cannot_ping(embed: discord.Embed) -> None:
    for text in texts_of(embed):
        assert PINGS.search(text) is None, text


headers = st.builds(
    PostHeader, post_id=ids, text=nasty_text, like_count=st.one_of(st.none(), st.integers(0, 10**9)),
    author_username=st.one_of(st.none(), nasty_text, st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)),
)


@settings(max_examples=150, deadline=None)
@given(page=liker_pages(), header=headers, footnote=nasty_text)
def test_a_likers_page_fits_and_cannot_ping(
    page: DisplayPage[User], header: PostHeader, footnote: str,
) -> None:
    embed = render_likers_page(page, header, footnote=footnote)
    assert len(embed.fields) == len(page.items)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


@settings(max_examples=150, deadline=None)
@given(page=post_pages(), account=nasty_text, footnote=nasty_text)
def test_a_liked_posts_page_fits_and_cannot_ping(
    page: DisplayPage[Post], account: str, footnote: str,
) -> None:
    embed = render_liked_page(page, account, footnote=footnote)
    assert len(embed.fields) == len(page.items)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


@settings(max_examples=100, deadline=None)
@given(user=users, post_id=ids, liked=st.booleans(), note=nasty_text)
def test_a_check_answer_fits_and_cannot_ping(user: User, post_id: str, liked: bool, note: str) -> None:
    embed = render_check(user, post_id, liked, note=note)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


@settings(max_examples=60, deadline=None)
@given(me=st.one_of(st.none(), users), error=nasty_text,
       endpoints=st.lists(st.sampled_from(["liking_users", "liked_posts", "me", "post"]), max_size=30))
def test_a_status_answer_fits_and_cannot_ping(me: User | None, error: str, endpoints: list[str]) -> None:
    reset = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    budgets = [RateBudget(name, 75, 3, reset) for name in endpoints]
    embed = render_status(me, budgets, ClientStats(day=date(2026, 12, 1)), me_error=error)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


def test_markdown_and_mentions_from_x_are_shown_literally() -> None:
    user = User(id="1", username="fan_1", name="**bold** @everyone <@&123456789012345678>",
                created_at=datetime(2020, 1, 2, tzinfo=UTC), followers_count=1234, verified=True,
                pinned_post_id="9")
    page = DisplayPage(items=(user,), number=0, includes=Includes(posts=()), has_previous=False,
                       has_next=False, total_items=1, total_pages=1)
    embed = render_likers_page(page, PostHeader("5", "gm _all_", 1, "likelens_demo"))
    field = embed.fields[0]
    assert field.name == "1. \\*\\*bold\\*\\* @\u200beveryone <@\u200b&123456789012345678> ☑️"
    assert field.value == (
        "[@fan\\_1](https://x.com/fan_1) · joined <t:1577923200:R> · 1,234 followers"
    )
    assert embed.description is not None and embed.description.startswith("> gm \\_all\\_\n❤️ 1 likes on X")
    assert "X returned" not in embed.description


def test_the_fewer_likers_line_appears_once_the_total_is_known_and_short() -> None:
    page: DisplayPage[User] = DisplayPage(items=(), number=0, includes=Includes(), has_previous=False,
                                          has_next=False, total_items=100, total_pages=10)
    embed = render_likers_page(page, PostHeader("5", "", 140))
    assert embed.description is not None and "X returned 100 likers." in embed.description


def test_page_labels() -> None:
    open_end: DisplayPage[User] = DisplayPage((), 2, Includes(), True, True, None, None)
    known: DisplayPage[User] = DisplayPage((), 2, Includes(), True, False, 30, 3)
    assert page_label(open_end) == "Page 3"
    assert page_label(known) == "Page 3 of 3"


def test_the_estimated_cost_uses_xs_prices() -> None:
    assert estimated_cost({"users": 100, "posts": 250}) == 100 * 0.010 + 250 * 0.005
