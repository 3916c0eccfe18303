"""ui.charts: real PNGs of the right size, never blank, whatever handles X returns."""

from __future__ import annotations

import asyncio
import io
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from ui.charts import (
    BACKGROUND,
    DPI,
    HEIGHT_INCHES,
    MAX_BARS,
    WIDTH_INCHES,
    LikeSample,
    MarkedLiker,
    SupporterBar,
    chart_label,
    render_supporters_chart,
    render_trend_chart,
    supporters_summary,
    trend_summary,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = int(WIDTH_INCHES * DPI), int(HEIGHT_INCHES * DPI)
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
HOSTILE = ["$x$", "$$", "a$b$c", "\\frac{1}{2}", "_sub_", "__", "👩🏽‍💻🏳️‍🌈", "😀" * 30, "مرحبا",
           "\u202e\u200b", "\n\t", "", "a" * 4000, "^{}%#&", "\\$\\"]


def decoded(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def assert_real_chart(png: bytes) -> None:
    image = decoded(png)
    assert image.size == (WIDTH, HEIGHT)
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    # Not blank: beyond the background, many colours (text antialiasing, bars, lines).
    assert len(colours) > 20
    background = tuple(int(BACKGROUND[i:i + 2], 16) for i in (1, 3, 5))
    assert max(colours)[1] == background


def bars(n: int, handles: list[str] | None = None) -> list[SupporterBar]:
    names = handles or [f"fan_{i}" for i in range(n)]
    return [SupporterBar(names[i % len(names)], n - i, linked=i % 3 == 0) for i in range(n)]


def samples(n: int) -> list[LikeSample]:
    return [LikeSample(START + timedelta(hours=6 * i), 10 + 3 * i + (i % 4)) for i in range(n)]


def test_the_supporters_chart_is_a_png_of_the_bounded_size_and_not_blank() -> None:
    assert_real_chart(render_supporters_chart(bars(12), title="Supporters of @maple_guild, 30 days"))


def test_the_trend_chart_is_a_png_of_the_bounded_size_and_not_blank() -> None:
    likers = [MarkedLiker(f"new_{i}", START + timedelta(hours=5 * i + 1)) for i in range(8)]
    assert_real_chart(render_trend_chart(samples(10), likers, title="Likes of post 1234"))


def test_bars_and_lines_differ_from_an_empty_chart() -> None:
    # The pixels must come from the data, not only from the frame and title.
    empty = decoded(render_supporters_chart([], title="t")).convert("RGB")
    full = decoded(render_supporters_chart(bars(5), title="t")).convert("RGB")
    assert empty.tobytes() != full.tobytes()
    linked_yellow = (0xFE, 0xE7, 0x5C)
    assert any(c == linked_yellow for _, c in full.getcolors(maxcolors=1 << 20) or [])


@pytest.mark.parametrize("handle", HOSTILE)
def test_hostile_handles_do_not_crash_or_warn(handle: str) -> None:
    with warnings.catch_warnings():
        # A missing glyph or a mathtext parse would warn (or raise) here.
        warnings.simplefilter("error")
        assert_real_chart(render_supporters_chart(bars(3, [handle]), title=handle))
        marked = [MarkedLiker(handle, START + timedelta(hours=7))]
        assert_real_chart(render_trend_chart(samples(4), marked, title=handle))


def test_dollar_signs_are_drawn_literally_not_as_mathtext() -> None:
    assert chart_label("$x^2$") == "$x^2$"
    # Mathtext would lay out "$x$" as an italic x; drawn literally the two renders differ.
    assert render_supporters_chart(bars(1, ["$x$"]), title="a") != render_supporters_chart(
        bars(1, ["x"]), title="a")


def test_two_hundred_names_keep_the_size_and_show_at_most_max_bars() -> None:
    many = bars(200)
    assert_real_chart(render_supporters_chart(many, title="Supporters"))
    assert_real_chart(render_trend_chart(samples(200), [MarkedLiker(b.handle, START) for b in many],
                                         title="Trend"))
    assert MAX_BARS <= 25


def test_too_little_history_still_renders_a_chart_that_says_so() -> None:
    for count in (0, 1):
        assert_real_chart(render_trend_chart(samples(count), [], title="Trend"))
    assert trend_summary(samples(1), []) == "Too little history yet to draw a trend."


def test_labels_are_one_line_printable_and_clipped() -> None:
    assert chart_label("a\nb\tc") == "a b c"
    assert chart_label("\u200b") == "?"
    assert len(chart_label("x" * 500)) <= 24


def test_the_supporters_summary_names_the_top_and_the_linked_members_escaped() -> None:
    text = supporters_summary([SupporterBar("a_b", 3, linked=True), SupporterBar("c*d", 1)])
    assert text == ("Chart: 2 supporters ranked by posts liked, 1 linked member. Top: "
                    "1. @a\\_b 3 posts (linked member); 2. @c\\*d 1 post.")
    assert supporters_summary([]) == "No likes recorded in this period yet."
    assert len(supporters_summary(bars(200, ["\\" * 400]))) <= 1000


def test_the_trend_summary_gives_the_change_and_the_newest_likers() -> None:
    points = [LikeSample(START, 10), LikeSample(START + timedelta(days=1), 25)]
    likers = [MarkedLiker("old", START), MarkedLiker("new_one", START + timedelta(hours=20))]
    assert trend_summary(points, likers) == (
        "Chart: likes went from 10 (2026-11-20 12:00 UTC) to 25 (2026-11-21 12:00 UTC), +15, over 2 samples. "
        "Newest likers: @new\\_one, @old.")


async def test_charts_render_off_the_event_loop_concurrently() -> None:
    pngs = await asyncio.gather(*(asyncio.to_thread(render_supporters_chart, bars(10), title=str(i))
                                  for i in range(4)))
    for png in pngs:
        assert_real_chart(png)
