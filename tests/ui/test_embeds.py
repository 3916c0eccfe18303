"""ui.embeds: whatever X returns, every embed fits Discord's limits and nothing in it can ping."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import discord
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.ui.strategies import (
    ids,
    liker_pages,
    nasty_text,
    post_pages,
    users,
    worst_authors,
    worst_name,
    worst_pinned_posts,
    worst_posts,
    worst_text,
    worst_users,
)
from ui.embeds import (
    EMBED_TOTAL_LIMIT,
    TOTAL_RESERVE,
    PostHeader,
    estimated_cost,
    page_label,
    render_check,
    render_liked_page,
    render_likers_page,
    render_status,
)
from ui.embeds import fit as fit_embed
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


def assert_shows_every_item_safely(embed: discord.Embed, page: DisplayPage[User] | DisplayPage[Post]) -> None:
    assert len(embed.fields) == len(page.items)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


headers = st.builds(
    PostHeader, post_id=ids, text=nasty_text, like_count=st.one_of(st.none(), st.integers(0, 10**9)),
    author_username=st.one_of(st.none(), nasty_text, st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)),
)


# Every field at its longest (the sizes without fit() are measured in test_worst_cases_without_fit).
WORST_LIKERS: DisplayPage[User] = DisplayPage(
    worst_users(), 9999, Includes(posts=worst_pinned_posts()), True, True, 10**6, 10**5)
WORST_HEADER = PostHeader("1" * 19, worst_text(4000), 10**9, worst_name(4000))
WORST_LIKED: DisplayPage[Post] = DisplayPage(
    worst_posts(), 9999, Includes(users=worst_authors()), True, True, 10**6, 10**5)
WORST_BUDGETS = [RateBudget(f"endpoint_{i}" * 5, 10**9, 10**9, datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
                 for i in range(30)]


@settings(max_examples=150, deadline=None)
@example(page=WORST_LIKERS, header=WORST_HEADER, footnote=worst_text(4000))
@given(page=liker_pages(), header=headers, footnote=nasty_text)
def test_a_likers_page_fits_and_cannot_ping(
    page: DisplayPage[User], header: PostHeader, footnote: str,
) -> None:
    assert_shows_every_item_safely(render_likers_page(page, header, footnote=footnote), page)


@settings(max_examples=150, deadline=None)
@example(page=WORST_LIKED, account=worst_name(4000), footnote=worst_text(4000))
@given(page=post_pages(), account=nasty_text, footnote=nasty_text)
def test_a_liked_posts_page_fits_and_cannot_ping(
    page: DisplayPage[Post], account: str, footnote: str,
) -> None:
    assert_shows_every_item_safely(render_liked_page(page, account, footnote=footnote), page)


@settings(max_examples=100, deadline=None)
@example(user=worst_users()[0], post_id="9" * 19, liked=True, note=worst_text(4000))
@given(user=users, post_id=ids, liked=st.booleans(), note=nasty_text)
def test_a_check_answer_fits_and_cannot_ping(user: User, post_id: str, liked: bool, note: str) -> None:
    embed = render_check(user, post_id, liked, note=note)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


@settings(max_examples=60, deadline=None)
@example(me=worst_users()[0], error=worst_text(4000), endpoints=["liking_users"] * 30)
@example(me=None, error=worst_text(4000), endpoints=["liking_users"] * 30)
@given(me=st.one_of(st.none(), users), error=nasty_text,
       endpoints=st.lists(st.sampled_from(["liking_users", "liked_posts", "me", "post"]), max_size=30))
def test_a_status_answer_fits_and_cannot_ping(me: User | None, error: str, endpoints: list[str]) -> None:
    reset = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    budgets = [RateBudget(name, 75, 3, reset) for name in endpoints]
    embed = render_status(me, budgets, ClientStats(day=date(2026, 12, 1)), me_error=error)
    assert_cannot_ping(embed)
    assert_within_discord_limits(embed)


def test_a_full_page_of_long_liked_posts_shares_the_room_and_keeps_every_link() -> None:
    # Untrimmed, these ten posts render to more than 10,000 characters.
    embed = render_liked_page(WORST_LIKED, worst_name(4000), footnote=worst_text(4000))
    assert len(embed.fields) == 10
    assert len(embed) <= EMBED_TOTAL_LIMIT - TOTAL_RESERVE
    texts = [(f.value or "").split("\n")[0] for f in embed.fields]
    # Every post keeps the same share of its text (over 200 characters), its counts and its link.
    assert len(set(texts)) == 1 and len(texts[0]) > 200 and texts[0].startswith("\\\\")
    assert all("1,000,000,000,000" in (f.value or "") and (f.value or "").endswith(")") for f in embed.fields)
    assert all("[open](https://x.com/" in (f.value or "") for f in embed.fields)


def test_fit_shortens_the_longest_fields_first_and_keeps_every_field() -> None:
    embed = discord.Embed(title="t", description="d" * 100)
    for i in range(25):
        embed.add_field(name=f"f{i}", value=("x" * 1024) if i < 10 else "short", inline=False)
    fitted = fit_embed(embed)
    assert len(fitted) <= EMBED_TOTAL_LIMIT - TOTAL_RESERVE
    assert len(fitted.fields) == 25
    assert [f.value for f in fitted.fields[10:]] == ["short"] * 15
    assert fitted.description == "d" * 100


def test_worst_cases_without_fit() -> None:
    """fit() is a safety net: at their worst, the likers, check and status answers stay far below 6000.

    They are bounded by their own clip lengths (the liked-posts page shares its room among the post
    texts, tested above); this pins that down, so raising one of those lengths, and silently leaning
    on fit() to cut what it made too long, is noticed. fit() itself is tested directly.
    """
    budget = EMBED_TOTAL_LIMIT - TOTAL_RESERVE
    likers = render_likers_page(WORST_LIKERS, WORST_HEADER, footnote=worst_text(4000))
    # Untouched by fit(): every liker keeps the whole of its pinned line.
    assert all((f.value or "").endswith("…") and "📌" in (f.value or "") for f in likers.fields)
    assert len(likers) <= budget - 500
    assert len(render_check(worst_users()[0], "9" * 19, True, note=worst_text(4000))) <= budget - 3000
    status = render_status(worst_users()[0], WORST_BUDGETS, ClientStats(day=date(2026, 12, 1)),
                           me_error=worst_text(4000))
    assert len(status) <= budget - 3000


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
    assert embed.description is not None and embed.description.startswith("> gm \\_all\\_\n❤️ 1 like on X")
    assert "X lists" not in embed.description


def test_the_fewer_likers_line_appears_once_the_total_is_known_and_short() -> None:
    page: DisplayPage[User] = DisplayPage(items=(), number=0, includes=Includes(), has_previous=False,
                                          has_next=False, total_items=100, total_pages=10)
    embed = render_likers_page(page, PostHeader("5", "", 140))
    assert embed.description is not None
    assert "\nX lists 100 of the 140 likes: it returns at most 100 likers" in embed.description
    one: DisplayPage[User] = DisplayPage((), 0, Includes(), False, False, 0, 1)
    one_like = render_likers_page(one, PostHeader("5", "", 1)).description or ""
    assert "\nX lists 0 of the 1 like: " in one_like


def test_page_labels() -> None:
    open_end: DisplayPage[User] = DisplayPage((), 2, Includes(), True, True, None, None)
    known: DisplayPage[User] = DisplayPage((), 2, Includes(), True, False, 30, 3)
    assert page_label(open_end) == "Page 3"
    assert page_label(known) == "Page 3 of 3"


def test_the_estimated_cost_uses_xs_prices() -> None:
    assert estimated_cost({"users": 100, "posts": 250}) == 100 * 0.010 + 250 * 0.005


def test_counts_of_one_are_singular_in_cards_and_status() -> None:
    user = User(id="1", username="fan_1", name="Fan", followers_count=1)
    assert (render_check(user, "5", True).fields[0].value or "").endswith(" · 1 follower")
    stats = ClientStats(day=date(2026, 8, 22))
    stats.items_read.update({"users": 1, "posts": 1})
    today = render_status(user, [], stats).fields[1].value or ""
    assert "Items read: 1 user, 1 post" in today
    stats.items_read.update({"users": 1500, "posts": 2})
    assert "Items read: 1,500 users, 2 posts" in (render_status(user, [], stats).fields[1].value or "")
