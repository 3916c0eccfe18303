"""ui.text: clipping and escaping of text from X."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ui.strategies import nasty_text
from ui.text import clip, escape, first_line, one_line, plural, safe


@settings(max_examples=300)
@given(text=nasty_text, limit=st.integers(1, 5000))
def test_safe_fits_its_limit_and_never_ends_in_a_lone_backslash(text: str, limit: int) -> None:
    out = safe(text, limit)
    assert len(out) <= limit
    stripped = out.removesuffix("…")
    assert (len(stripped) - len(stripped.rstrip("\\"))) % 2 == 0
    assert "@everyone" not in out and "@here" not in out


@settings(max_examples=200)
@given(text=st.text(alphabet="\\*_`~|", min_size=1, max_size=600), limit=st.integers(2, 1024))
def test_safe_keeps_as_much_as_fits_even_of_text_that_escaping_expands(text: str, limit: int) -> None:
    out = safe(text, limit)
    # Close to the limit: two more source characters (at most 4 each once escaped; clip drops a lone
    # trailing backslash) would not fit.
    assert out == escape(text) or len(out) > limit - 12, (text, limit, out)


def test_safe_of_long_markdown_names_is_not_just_an_ellipsis() -> None:
    assert safe("*" * 100, 80) == "\\*" * 39 + "…"
    assert safe("\\" * 300, 80).startswith("\\" * 19)


@given(text=st.text(max_size=100))
def test_short_text_is_kept_whole(text: str) -> None:
    assert clip(text, 100) == text


def test_clip_marks_the_cut() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("ab\\cdef", 4) == "ab…"


def test_escape_shows_markdown_and_mentions_literally() -> None:
    assert escape("**x** @everyone <@&123456789012345678>") == (
        "\\*\\*x\\*\\* @\u200beveryone <@\u200b&123456789012345678>"
    )


def test_lines() -> None:
    assert one_line("a\n b\t\tc ") == "a b c"
    assert first_line("\n  \n first \nsecond") == "first"
    assert first_line("") == ""


def test_plural_agrees_with_the_count_and_groups_thousands() -> None:
    assert plural(1, "liker") == "1 liker"
    assert plural(0, "liker") == "0 likers"
    assert plural(2, "like") == "2 likes"
    assert plural(1234, "liker") == "1,234 likers"
    assert plural(1, "item") == "1 item"
    assert plural(3, "reply", "replies") == "3 replies"
    assert plural(1, "reply", "replies") == "1 reply"
    assert plural(1_000_000, "post") == "1,000,000 posts"
