"""Pure chart renderers (PNG bytes) for /likes top and /likes trend, plus their text summaries.

Rendered with matplotlib's object-oriented API on the Agg canvas (no pyplot, no global figure
state); callers run them off the event loop: `await asyncio.to_thread(render_supporters_chart, …)`.

Theme: an opaque neutral card (#4E5058, Discord's own secondary grey) rather than a transparent
background, so the chart reads the same on Discord's dark (#313338) and light (#FFFFFF) themes:
white text (contrast 8.0:1 on the card), bars of linked members in yellow #FEE75C (6.4:1) and
others in light blue #8ECDF8 (4.7:1). Linked members are also marked by a ★ in their label, so the
mark does not rest on colour alone. Every image is exactly 800×450 pixels (8×4.5 in at 100 dpi).

Labels come from X (handles may hold `$`, `\\`, emoji, any script): mathtext is off on every text
(`parse_math=False`), control characters are dropped, characters the font lacks become "?", and
labels are clipped, so no input can crash or stretch a chart.
"""

from __future__ import annotations

import functools
import io
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matplotlib import dates as mdates
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from ui.text import clip, one_line, plural, safe

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.5, 100
BACKGROUND = "#4E5058"
TEXT = "#FFFFFF"
GRID = "#6D6F78"
LINKED = "#FEE75C"
OTHER = "#8ECDF8"
LINE = "#8ECDF8"
MAX_BARS = 20
LABEL_CHARS = 24
NEWEST_MARKED = 5
SUMMARY_CHARS = 1000
LINKED_MARK = "★ "

# matplotlib's font cache and text layout are shared process-wide; one render at a time keeps
# concurrent to_thread calls from interleaving in them (a chart takes tens of milliseconds).
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class SupporterBar:
    """One bar of the supporters board: an X handle (no @), the posts it liked, linked or not."""

    handle: str
    posts_liked: int
    linked: bool = False


@dataclass(frozen=True, slots=True)
class LikeSample:
    """The post's like count as X reported it at one moment."""

    at: datetime
    like_count: int


@dataclass(frozen=True, slots=True)
class MarkedLiker:
    """A liker to mark on the trend line at the moment LikeLens first saw them."""

    handle: str
    first_seen: datetime


@functools.cache
def _font_codepoints() -> frozenset[int]:
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans"))
    return frozenset(FT2Font(path).get_charmap())


def chart_label(text: str, limit: int = LABEL_CHARS) -> str:
    """text made safe to draw: one line, printable, in the font, clipped (mathtext stays off)."""
    known = _font_codepoints()
    cleaned = "".join(
        ch if ord(ch) in known else "?" for ch in one_line(text) if ch.isprintable()
    )
    return clip(cleaned, limit) or "?"


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_facecolor(BACKGROUND)
    for spine in axes.spines.values():
        spine.set_color(GRID)
    axes.tick_params(colors=TEXT, labelcolor=TEXT)
    return figure, axes


def _title(axes: Axes, text: str) -> None:
    axes.set_title(chart_label(text, 70), color=TEXT, fontsize=13, loc="left", parse_math=False)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": it would change the image's size with the labels.
    figure.savefig(buffer, format="png", dpi=DPI, facecolor=BACKGROUND)
    return buffer.getvalue()


def _no_math(axes: Axes) -> None:
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_parse_math(False)


def render_supporters_chart(bars: Sequence[SupporterBar], *, title: str) -> bytes:
    """A horizontal bar chart of the first MAX_BARS supporters (given ranked), top one at the top."""
    shown = list(bars[:MAX_BARS])
    with _RENDER_LOCK:
        figure, axes = _figure()
        _title(axes, title)
        if not shown:
            axes.text(0.5, 0.5, "No likes recorded in this period yet.", color=TEXT, ha="center",
                      va="center", transform=axes.transAxes, parse_math=False)
            axes.set_xticks([])
            axes.set_yticks([])
        else:
            positions = list(range(len(shown)))[::-1]
            axes.barh(positions, [b.posts_liked for b in shown],
                      color=[LINKED if b.linked else OTHER for b in shown], height=0.7)
            labels = [(LINKED_MARK if b.linked else "") + "@" + chart_label(b.handle) for b in shown]
            axes.set_yticks(positions, labels=labels, fontsize=max(6, 11 - len(shown) // 4))
            axes.set_xlabel("posts liked (★ linked member)", color=TEXT)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.grid(axis="x", color=GRID, linewidth=0.6)
            axes.set_axisbelow(True)
            _no_math(axes)
        figure.set_layout_engine("constrained")
        return _png(figure)


def _count_at(samples: Sequence[LikeSample], moment: datetime) -> float:
    """The like count at moment, read off the line between the samples around it."""
    if moment <= samples[0].at:
        return float(samples[0].like_count)
    for before, after in itertools.pairwise(samples):
        if before.at <= moment <= after.at:
            span = (after.at - before.at).total_seconds() or 1.0
            share = (moment - before.at).total_seconds() / span
            return before.like_count + share * (after.like_count - before.like_count)
    return float(samples[-1].like_count)


# matplotlib.dates has no type hints: its three calls are wrapped here, typed.
def _day_number(moment: datetime) -> float:
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _date_axis(axes: Axes) -> None:
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def render_trend_chart(
    samples: Sequence[LikeSample], newest_likers: Sequence[MarkedLiker], *, title: str,
) -> bytes:
    """The like count over time as a line, the newest NEWEST_MARKED likers marked on it."""
    ordered = sorted(samples, key=lambda s: s.at)
    with _RENDER_LOCK:
        figure, axes = _figure()
        _title(axes, title)
        if len(ordered) < 2:
            axes.text(0.5, 0.5, "Too little history yet: LikeLens records the like count as it goes.",
                      color=TEXT, ha="center", va="center", transform=axes.transAxes, parse_math=False)
            axes.set_xticks([])
            axes.set_yticks([])
        else:
            times = [_day_number(s.at) for s in ordered]
            axes.plot(times, [s.like_count for s in ordered], color=LINE, linewidth=2, marker="o",
                      markersize=3)
            axes.set_ylabel("likes on X", color=TEXT)
            # Headroom for the handles annotated above the newest points.
            axes.margins(y=0.2)
            _date_axis(axes)
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            axes.grid(color=GRID, linewidth=0.6)
            start, end = ordered[0].at, ordered[-1].at
            marked = sorted((m for m in newest_likers if start <= m.first_seen <= end),
                            key=lambda m: m.first_seen)[-NEWEST_MARKED:]
            for index, liker in enumerate(marked):
                x, y = _day_number(liker.first_seen), _count_at(ordered, liker.first_seen)
                axes.plot([x], [y], marker="D", color=LINKED, markersize=6)
                axes.annotate("@" + chart_label(liker.handle, 16), (x, y), xytext=(-8, 10 + 12 * (index % 3)),
                              textcoords="offset points", color=TEXT, fontsize=8, ha="right",
                              parse_math=False)
            _no_math(axes)
        figure.set_layout_engine("constrained")
        return _png(figure)


def supporters_summary(bars: Sequence[SupporterBar], *, shown: int = 10) -> str:
    """The board in one paragraph for people who cannot see the chart (Discord markdown, escaped)."""
    if not bars:
        return "No likes recorded in this period yet."
    parts = [f"{rank}. {safe('@' + b.handle, 21)} {plural(b.posts_liked, 'post')}"
             + (" (linked member)" if b.linked else "") for rank, b in enumerate(bars[:shown], start=1)]
    linked = sum(1 for b in bars if b.linked)
    text = (f"Chart: {plural(len(bars), 'supporter')} ranked by posts liked, "
            f"{plural(linked, 'linked member')}. Top: " + "; ".join(parts) + ".")
    return clip(text, SUMMARY_CHARS)


def _utc(moment: datetime) -> str:
    # A naive datetime is taken as UTC (the store keeps Unix seconds).
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def trend_summary(samples: Sequence[LikeSample], newest_likers: Sequence[MarkedLiker]) -> str:
    """The trend in one sentence or two for people who cannot see the chart (escaped)."""
    ordered = sorted(samples, key=lambda s: s.at)
    if len(ordered) < 2:
        return "Too little history yet to draw a trend."
    first, last = ordered[0], ordered[-1]
    change = last.like_count - first.like_count
    text = (f"Chart: likes went from {first.like_count:,} ({_utc(first.at)}) to "
            f"{last.like_count:,} ({_utc(last.at)}), {change:+,}, over "
            f"{plural(len(ordered), 'sample')}.")
    newest = sorted(newest_likers, key=lambda m: m.first_seen)[-NEWEST_MARKED:]
    if newest:
        text += " Newest likers: " + ", ".join(safe("@" + m.handle, 21) for m in reversed(newest)) + "."
    return clip(text, SUMMARY_CHARS)
