"""ui.paginator's pure parts (the buttons, the partial-error note) and the bounded LRU of live pagers
(cogs/live_pagers.py, the paginator's memory)."""

from __future__ import annotations

import ast
from pathlib import Path

import discord

from cogs.live_pagers import RENDERED_PAGES, LivePagers, ShownPage
from store.browse_state import BrowseRecord
from ui.paginator import pager_view, partial_footnote
from xapi.browse import DisplayPage
from xapi.models import Includes, PartialError, User


async def test_live_pagers_are_bounded_and_least_recently_used_go_first() -> None:
    pagers = LivePagers(max_size=3, idle_seconds=60)
    for name in "abc":
        pagers.entry(name, now=0)
    pagers.entry("a", now=1)
    pagers.entry("d", now=2)
    assert len(pagers) == 3
    assert pagers.entry("a", now=3).touched == 3
    # "b" was evicted: it comes back empty.
    assert pagers.entry("b", now=4).source is None


async def test_a_pager_in_the_middle_of_a_click_is_not_evicted() -> None:
    pagers = LivePagers(max_size=1, idle_seconds=60)
    busy = pagers.entry("busy", now=0)
    async with busy.lock:
        pagers.entry("other", now=1)
        assert pagers.entry("busy", now=2) is busy


async def test_an_idle_pager_drops_its_source_and_what_was_built_from_it() -> None:
    pagers = LivePagers(max_size=5, idle_seconds=60)
    live = pagers.entry("a", now=0)
    live.source = object()  # type: ignore[assignment]
    live.record = BrowseRecord("a", "liked_posts", "1", 1, {}, {}, 7)
    live.remember((0, False, True, None, 0), ShownPage(discord.Embed(title="page 1"), None))
    assert pagers.entry("a", now=30).source is not None
    idle = pagers.entry("a", now=200)
    # The next click reads the record from the store again: who owns it, where it belongs.
    assert idle.source is None and idle.record is None and idle.rendered == {}


async def test_a_live_record_is_read_without_creating_or_touching_an_entry() -> None:
    pagers = LivePagers(max_size=5, idle_seconds=60)
    assert pagers.live_record("unknown", now=0) is None and len(pagers) == 0
    live = pagers.entry("a", now=0)
    live.record = BrowseRecord("a", "liked_posts", "1", 1, {}, {}, 7)
    assert pagers.live_record("a", now=10) is None  # no source yet: the store decides
    live.source = object()  # type: ignore[assignment]
    assert pagers.live_record("a", now=10) is live.record
    assert live.touched == 0
    assert pagers.live_record("a", now=61) is None  # idle: its source is about to be dropped


async def test_idle_pagers_are_dropped_even_when_nobody_clicks_them_again() -> None:
    pagers = LivePagers(max_size=256, idle_seconds=60)
    for name in "ab":
        pagers.entry(name, now=0).source = object()  # type: ignore[assignment]
    kept = pagers.entry("c", now=50)
    kept.source = object()  # type: ignore[assignment]
    pagers.entry("d", now=100)
    # a and b were idle for 100 s: gone with their sources (their state is in the store); c for 50 s.
    assert len(pagers) == 2
    assert pagers.entry("c", now=101) is kept and kept.source is not None


def page(number: int, has_previous: bool, has_next: bool, total: int | None) -> DisplayPage[User]:
    pages = None if total is None else max(1, -(-total // 10))
    return DisplayPage((), number, Includes(), has_previous, has_next, total, pages)


def buttons(view: object) -> list[tuple[str, str | None, bool]]:
    assert view is not None
    items = [getattr(child, "item", child) for child in view.children]  # type: ignore[attr-defined]
    return [(b.custom_id, b.label, b.disabled) for b in items]


def test_buttons_carry_the_target_page() -> None:
    assert buttons(pager_view("abc", page(0, False, True, None))) == [
        ("ll:pg:abc:0", "Previous", True), ("ll:pn:abc", "Page 1", True), ("ll:pg:abc:1", "Next", False),
    ]
    assert buttons(pager_view("abc", page(9, True, False, 100))) == [
        ("ll:pg:abc:8", "Previous", False), ("ll:pn:abc", "Page 10 of 10", True),
        ("ll:pg:abc:10", "Next", True),
    ]


def test_a_single_page_has_no_buttons() -> None:
    assert pager_view("abc", page(0, False, False, 7)) is None


def test_partial_footnote() -> None:
    assert partial_footnote([]) == ""
    problems = [PartialError(title="Not Found Error", resource_id="1"), PartialError(title="Not Found Error")]
    assert partial_footnote(problems) == "X could not return 2 items here (Not Found Error)."
    assert partial_footnote(problems[:1]) == "X could not return 1 item here (Not Found Error)."


def imported_packages(path: Path) -> set[str]:
    """The top-level packages a module imports (under TYPE_CHECKING too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_paginators_ui_modules_render_and_answer_only() -> None:
    """The design's arrows: ui may not reach the store or the cogs (the controller does, in cogs/)."""
    root = Path(__file__).resolve().parents[2]
    for module in ("ui/paginator.py", "ui/embeds.py", "ui/respond.py"):
        assert not imported_packages(root / module) & {"store", "cogs", "aiosqlite"}, module


async def test_rendered_pages_beyond_the_bound_drop_the_one_rendered_longest_ago() -> None:
    """Not all of them: the pages a click's buttons lead to, rendered just now, stay ready."""
    live = LivePagers(max_size=5, idle_seconds=60).entry("a", now=0)
    for number in range(RENDERED_PAGES + 2):
        live.remember((number, True, True, None, 0), ShownPage(discord.Embed(title=str(number)), None))
    assert len(live.rendered) == RENDERED_PAGES
    assert sorted(key[0] for key in live.rendered) == list(range(2, RENDERED_PAGES + 2))
    # Remembered again: it becomes the newest, so the next one rendered pushes out page 3, not page 2.
    live.remember((2, True, True, None, 0), live.rendered[(2, True, True, None, 0)])
    live.remember((99, True, True, None, 0), ShownPage(discord.Embed(title="99"), None))
    assert (2, True, True, None, 0) in live.rendered and (3, True, True, None, 0) not in live.rendered
