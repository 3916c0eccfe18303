"""ui.members_embeds: the /likes members, top and trend embeds and the /link sentence, for any input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import discord
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.ui.strategies import ids, nasty_text, worst_name, worst_text
from tests.ui.test_embeds import assert_within_discord_limits, texts_of
from ui.charts import LikeSample, MarkedLiker
from ui.members_embeds import (
    BOARD_ROWS,
    SUPPORTERS_CHART,
    TREND_CHART,
    BoardFacts,
    BoardRow,
    LinkedLiker,
    already_linked_sentence,
    consent_sentence,
    linked_sentence,
    render_members,
    render_top,
    render_trend,
    unlinked_sentence,
)

MENTION = re.compile(r"<@!?([0-9]+)>")
# The pings no member link can explain: everyone, here, a role.
MASS_PINGS = re.compile(r"@(everyone|here)|<@&[0-9]+>")
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Footers are LikeLens' own text (Discord shows footers without markdown): long, not hostile.
footers = st.text(alphabet="abc ·:0123456789", max_size=3000)

member_ids = st.integers(1, 2**63 - 1)
handles = st.one_of(st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True), nasty_text)
linked_likers = st.builds(LinkedLiker, member_id=member_ids, x_user_id=ids, handle=handles)
board_rows = st.builds(BoardRow, x_user_id=ids, handle=handles, posts_liked=st.integers(0, 10**6),
                       member_id=st.one_of(st.none(), member_ids))
facts = st.builds(
    BoardFacts, account_handle=st.one_of(st.none(), handles), days=st.sampled_from([7, 30, 90]),
    posts_in_period=st.integers(0, 10**4), posts_read=st.integers(0, 100),
    posts_waiting=st.integers(0, 10**4), cost_low=st.floats(0, 1e4), cost_high=st.floats(0, 1e5),
    listing_complete=st.booleans(),
)
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
samples = st.builds(LikeSample, at=moments, like_count=st.integers(0, 10**9))
marked = st.builds(MarkedLiker, handle=handles, first_seen=moments)


def assert_mentions_only(embed: discord.Embed, member_ids: set[int]) -> None:
    """The only mentions are of the linked members; nothing that could ping everyone or a role."""
    for text in texts_of(embed):
        assert MASS_PINGS.search(text) is None, text
        assert {int(m) for m in MENTION.findall(text)} <= member_ids, text


def worst_linked(n: int) -> list[LinkedLiker]:
    return [LinkedLiker(2**63 - 1 - i, "9" * 19, worst_name(4000)) for i in range(n)]


@settings(max_examples=150, deadline=None)
@example(linked=worst_linked(300), unlinked=10**9, listed=100, like_count=10**12, author=worst_text(4000),
         footer="f" * 4000)
@given(linked=st.lists(linked_likers, max_size=120), unlinked=st.integers(0, 10**9),
       listed=st.integers(0, 100), like_count=st.one_of(st.none(), st.integers(0, 10**12)),
       author=st.one_of(st.none(), handles), footer=footers)
def test_the_members_embed_fits_and_mentions_only_linked_members(  # noqa: PLR0917 (hypothesis passes by name)
    linked: list[LinkedLiker], unlinked: int, listed: int, like_count: int | None, author: str | None,
    footer: str,
) -> None:
    embed = render_members("1" * 19, linked, unlinked=unlinked, listed=listed, like_count=like_count,
                           author_username=author, footer=footer)
    assert_within_discord_limits(embed)
    assert_mentions_only(embed, {m.member_id for m in linked})


def test_the_members_embed_names_linked_members_and_counts_the_others() -> None:
    linked = [LinkedLiker(501, "42", "maple_fan"), LinkedLiker(502, "43", "harbor")]
    embed = render_members("1860000000000000003", linked, unlinked=98, listed=100, like_count=140,
                           author_username="likelens_demo")
    text = embed.description or ""
    assert "<@501> · [@maple\\_fan](https://x.com/maple_fan)" in text
    assert "<@502> · [@harbor](https://x.com/harbor)" in text
    assert "**2 linked members** liked it:" in text
    assert text.endswith("98 likers are not linked.")
    assert ("X lists 100 of the 140 likes: it returns at most 100 likers per post and leaves out protected "
            "and suspended accounts.") in text
    one = render_members("1", [], unlinked=1, listed=1, like_count=1)
    assert "No linked member of this server is among the likers X lists." in (one.description or "")
    assert (one.description or "").endswith("1 liker is not linked.")
    assert "X lists 1 of" not in (one.description or "")


def test_many_linked_members_end_in_how_many_more() -> None:
    embed = render_members("1", worst_linked(300), unlinked=0, listed=100, like_count=300)
    assert re.search(r"…and \d+ more linked members\.", embed.description or "")


@settings(max_examples=150, deadline=None)
@example(rows=[BoardRow("9" * 19, worst_name(4000), 10**6, 2**63 - 1)] * 200,
         board=BoardFacts(worst_text(4000), 90, 10**4, 100, 10**4, 1e4, 1e5, False), footer="f" * 4000)
@given(rows=st.lists(board_rows, max_size=60), board=facts, footer=footers)
def test_the_top_embed_fits_and_mentions_only_linked_members(
    rows: list[BoardRow], board: BoardFacts, footer: str,
) -> None:
    embed = render_top(rows, board, footer=footer)
    assert_within_discord_limits(embed)
    assert_mentions_only(embed, {r.member_id for r in rows if r.member_id is not None})


def test_the_top_embed_ranks_says_what_was_read_and_attaches_the_chart() -> None:
    rows = [BoardRow("1", "amy", 5, member_id=77), BoardRow("2", "bob_x", 3)]
    board = BoardFacts("maple_guild", 30, posts_in_period=30, posts_read=5, posts_waiting=2, cost_low=0.16,
                       cost_high=0.65)
    embed = render_top(rows, board)
    assert embed.title == "Supporters of @maple\\_guild · last 30 days"
    text = embed.description or ""
    assert ("From 30 posts of the period: 5 posts read from X now (about $0.16 to $0.65 at X's prices), "
            "the others from what LikeLens recorded.") in text
    assert "2 posts not read yet (X's rate limit): run `/likes top` again later to count them." in text
    assert "1. [@amy](https://x.com/amy) · <@77> · 5 posts liked" in text
    assert "2. [@bob\\_x](https://x.com/bob_x) · 3 posts liked" in text
    assert embed.image.url == f"attachment://{SUPPORTERS_CHART}"
    assert embed.fields[0].name == "Chart (text)" and "1 linked member" in (embed.fields[0].value or "")
    assert embed.footer.text == "Recognition only: LikeLens gives nothing for a like."
    empty = render_top([], board)
    assert "No likes recorded in this period yet." in (empty.description or "") and not empty.image.url


def test_the_top_embed_shows_at_most_the_charts_rows() -> None:
    rows = [BoardRow(str(n), f"h{n}", 100 - n) for n in range(50)]
    text = render_top(rows, BoardFacts("a", 7, 50, 0, 0, 0, 0)).description or ""
    assert f"{BOARD_ROWS}. [@h{BOARD_ROWS - 1}]" in text and f"{BOARD_ROWS + 1}. " not in text


@settings(max_examples=100, deadline=None)
@given(points=st.lists(samples, max_size=50), newest=st.lists(marked, max_size=20),
       author=st.one_of(st.none(), handles), footer=footers)
def test_the_trend_embed_fits_and_cannot_ping(
    points: list[LikeSample], newest: list[MarkedLiker], author: str | None, footer: str,
) -> None:
    embed = render_trend("1" * 19, points, newest, author_username=author, footer=footer)
    assert_within_discord_limits(embed)
    assert_mentions_only(embed, set())


def test_the_trend_embed_says_when_there_is_too_little_history() -> None:
    for count in (0, 1):
        embed = render_trend("5", [LikeSample(START, 3)][:count], [])
        assert "Too little history yet" in (embed.description or "")
        assert not embed.image.url
    embed = render_trend("5", [LikeSample(START, 3), LikeSample(START + timedelta(days=1), 9)],
                         [MarkedLiker("new_fan", START + timedelta(hours=3))])
    assert "likes went from 3" in (embed.description or "") and "+6" in (embed.description or "")
    assert embed.image.url == f"attachment://{TREND_CHART}"
    assert embed.fields[0].name == "Newest likers" and "@new\\_fan" in (embed.fields[0].value or "")


def test_the_consent_sentence_is_exact() -> None:
    assert consent_sentence("maple") == (
        "Your X handle will be shown to this server's moderators beside your likes of @maple's posts. "
        "`/unlink` removes it.")
    # The handle is escaped (Discord shows @maple_guild), and nothing from X can ping.
    assert "@maple\\_guild's posts" in consent_sentence("maple_guild")
    assert "@everyone" not in consent_sentence("everyone @everyone")
    assert consent_sentence(None).startswith("Your X handle will be shown to this server's moderators beside "
                                             "your likes of this server's X account's posts.")


def test_the_link_sentences_say_what_happened_escaped_only_for_discord() -> None:
    assert linked_sentence("maple_fan", "Maple <Guild>", markdown=False) == (
        "Linked @maple_fan to your account on Maple <Guild>.")
    assert linked_sentence("maple_fan", "**Maple**", markdown=True) == (
        "Linked @maple\\_fan to your account on \\*\\*Maple\\*\\*.")
    assert already_linked_sentence("maple_fan", markdown=False) == (
        "@maple_fan is already linked to another member of this server, so nothing was linked.")
    assert "@everyone" not in already_linked_sentence("everyone", markdown=True)
    assert unlinked_sentence("maple_fan") == (
        "Unlinked @maple\\_fan: moderators no longer see it beside your likes.")
    assert unlinked_sentence(None) == (
        "Your Discord account here is not linked to an X account: nothing to remove.")
    assert len(linked_sentence("x" * 500, "s" * 5000, markdown=True)) < 200
