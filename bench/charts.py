"""Benchmark 8: chart rendering (ui/charts.py), milliseconds per PNG, against an empty figure.

The supporters board (20 bars of the 200 ranked) and a post's trend (200 like-count samples, 5
likers marked), each rendered 20 times after a warm-up, against rendering an empty 800×450 figure
to PNG in the same run (the floor: canvas, encoder). Target: at most 300 ms per chart on this
machine (the issue's bound); reported, not asserted, as the machine is shared.
Run: python -m bench.charts [--quick]
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.harness import Table, bench_main, check, median, percentile, ratio
from ui.charts import (
    DPI,
    HEIGHT_INCHES,
    WIDTH_INCHES,
    LikeSample,
    MarkedLiker,
    SupporterBar,
    render_supporters_chart,
    render_trend_chart,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TARGET_MS = 300.0
START = datetime(2026, 11, 1, tzinfo=UTC)


def empty_figure() -> bytes:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


BOARD = [SupporterBar(f"supporter_{i}$", 200 - i, linked=i % 4 == 0) for i in range(200)]
SAMPLES = [LikeSample(START + timedelta(hours=3 * i), 5 + 2 * i) for i in range(200)]
LIKERS = [MarkedLiker(f"fan_{i}", START + timedelta(hours=3 * i + 1)) for i in range(190, 199)]

CHARTS: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("baseline: empty 800×450 figure to PNG", empty_figure),
    ("supporters board (20 of 200 bars)", lambda: render_supporters_chart(BOARD, title="Supporters")),
    ("trend (200 samples, 5 likers marked)", lambda: render_trend_chart(SAMPLES, LIKERS, title="Post 1")),
)


def timings(render: Callable[[], bytes], runs: int) -> list[float]:
    png = render()  # warm-up: fonts and caches loaded outside the timed runs
    check(png.startswith(PNG_SIGNATURE), "a chart is not a PNG")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        render()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def run(quick: bool) -> list[Table]:
    runs = 5 if quick else 20
    table = Table(f"8. Chart rendering: ms per PNG, {runs} renders each (median, p90)",
                  ["chart", "median ms", "p90 ms", "vs baseline", f"within {TARGET_MS:.0f} ms target"])
    baseline = 0.0
    for name, render in CHARTS:
        times = timings(render, runs)
        middle = median(times)
        baseline = baseline or middle
        within = "—" if name.startswith("baseline") else ("yes" if middle <= TARGET_MS else "NO")
        table.add(name, middle, percentile(times, 0.9), ratio(middle, baseline), within)
    table.notes.append("Rendered in the benchmark's own thread (bot callers use asyncio.to_thread); the "
                       "machine is shared, so compare with the baseline of the same run.")
    return [table]


if __name__ == "__main__":
    bench_main(run)
