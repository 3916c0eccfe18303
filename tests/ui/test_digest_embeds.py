"""ui.digest_embeds: the digest message stays within Discord's limits for any input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ui.digest_embeds import DigestEntry, fit_lines, profile_url, render_baseline, render_digest
from ui.embeds import DESCRIPTION_LIMIT, TITLE_LIMIT, liker_field
from xapi.models import Includes, User

entries = st.builds(DigestEntry, st.text(max_size=600), st.text(max_size=300), st.text(max_size=600))


@given(st.text(max_size=400), st.lists(entries, max_size=150))
def test_any_input_fits_discords_embed_limits(subject: str, items: list[DigestEntry]) -> None:
    embed = render_digest(subject, items, noun="new liker")
    assert len(embed.title or "") <= TITLE_LIMIT
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed) <= 6000 - 2048  # room for any footer


def test_what_does_not_fit_is_counted_in_and_n_more() -> None:
    items = [DigestEntry(f"@fan_{n}", f"https://x.com/fan_{n}", "x" * 200) for n in range(100)]
    description = render_digest("post 1", items, noun="new liker").description or ""
    shown = description.count("\n• ") + 1
    assert description.endswith(f"…and {100 - shown} more")
    assert 0 < shown < 100


def test_markdown_and_mentions_from_x_are_shown_literally() -> None:
    item = DigestEntry("@a_b", "https://x.com/a_b", "**bold** @everyone [link](https://evil.example)")
    description = render_digest("post 1", [item], noun="new liker").description or ""
    assert "\\*\\*bold\\*\\*" in description and "@\u200beveryone" in description
    # Escaped as /likes escapes a name (ui.text.safe): shown literally, not a link, not altered.
    assert "\\[link](https://evil.example)" in description
    assert description.startswith("• [@a\\_b](https://x.com/a_b)")


def test_a_display_name_reads_as_in_likes_post() -> None:
    name = "[link](https://x.com)"
    item = DigestEntry("@fan", "https://x.com/fan", name)
    line = (render_digest("post 1", [item], noun="new liker").description or "").splitlines()[0]
    shown_by_likes, _ = liker_field(User(id="1", username="fan", name=name), Includes(), 1)
    assert line == "• [@fan](https://x.com/fan) " + shown_by_likes.removeprefix("1. ")
    assert line.endswith("\\[link](https://x.com)")


def test_the_baseline_is_one_short_line() -> None:
    assert render_baseline("post 1", 140, noun="liker") == "Tracking started for post 1: 140 likers so far."
    assert "100+ liked posts" in render_baseline("posts", 100, noun="liked post", more=True)
    # Likes as X counts them, and how many likers X lists when fewer (at most 100 a post).
    assert render_baseline("post 1", 140, noun="like", listed=100) == (
        "Tracking started for post 1: 140 likes so far (X lists 100 of them).")
    assert render_baseline("post 1", 7, noun="like", listed=7).endswith(": 7 likes so far.")


def test_counts_agree_with_their_noun() -> None:
    assert render_baseline("post 1", 1, noun="liker") == "Tracking started for post 1: 1 liker so far."
    assert render_baseline("post 1", 1234, noun="liker").endswith(": 1,234 likers so far.")
    one = DigestEntry("@fan", "https://x.com/fan")
    assert render_digest("post 1", [one], noun="new liker").title == "1 new liker: post 1"
    assert render_digest("posts", [one, one], noun="newly liked post").title == "2 newly liked posts: posts"


def test_fit_lines_keeps_room_for_and_n_more() -> None:
    assert fit_lines(["a" * 10] * 3, 34) == ["a" * 10] * 3
    assert fit_lines(["a" * 10] * 3, 33) == ["a" * 10, "…and 2 more"]
    assert fit_lines([], 10) == []


def test_a_username_that_is_not_a_real_x_username_is_linked_by_id() -> None:
    assert profile_url(User(id="12", username="fan_1", name="Fan")) == "https://x.com/fan_1"
    assert profile_url(User(id="12", username="a)b/../evil", name="X")) == "https://x.com/i/user/12"
