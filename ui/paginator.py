"""The /likes paginator: Previous / Page N of M / Next over a BrowseSource, surviving restarts.

Each message's buttons carry `ll:pg:<state id>:<target page>`; the state (who may turn the pages,
what is browsed, where it stands) is in the store, so a click after a restart rebuilds the source
and shows the right page. The target page is in the custom_id, so two clicks on the same button
land on the same page. Live sources sit in a bounded LRU per bot; clicks on one message are
serialized by its lock.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import discord

from store.browse_state import (
    BrowseRecord,
    delete_browse_older_than,
    load_browse,
    new_browse_id,
    save_browse,
    save_position,
)
from ui.embeds import PostHeader, page_label, render_liked_page, render_likers_page
from ui.failures import report_failure
from ui.respond import NO_MENTIONS, answer, answer_error, defer
from ui.text import clip, plural
from xapi.browse import BrowseSource, BrowseState, DisplayPage
from xapi.errors import InvalidInput
from xapi.models import Page, PartialError, Post, User

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.ui")

BrowseKind = Literal["liking_users", "liked_posts"]
PER_PAGE = 10
LIVE_PAGERS = 256
# A live source idle this long is dropped; the next click rebuilds it from the store.
LIVE_IDLE_SECONDS = 15 * 60
# Paginator state older than this is forgotten (its buttons then say so).
STATE_RETENTION_SECONDS = 30 * 24 * 3600

NOT_YOURS = "Only the person who ran the command can turn these pages."
STATE_GONE = "These pages are no longer available (they expired): run the command again."
CUSTOM_ID_PREFIX = "ll:pg"


@dataclass(slots=True)
class LivePager:
    """One message's live source, the lock that serializes its clicks, and X's partial errors seen."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    source: BrowseSource[Any] | None = None
    partial_errors: list[PartialError] = field(default_factory=list)
    touched: float = 0.0


class LivePagers:
    """Bounded LRU of live pagers keyed by state id; idle sources are dropped after `idle_seconds`."""

    def __init__(self, *, max_size: int = LIVE_PAGERS, idle_seconds: float = LIVE_IDLE_SECONDS) -> None:
        self.max_size = max_size
        self.idle_seconds = idle_seconds
        self._entries: OrderedDict[str, LivePager] = OrderedDict()

    def entry(self, browse_id: str, now: float) -> LivePager:
        """The live pager of browse_id (new and empty if unknown); marks it most recently used."""
        live = self._entries.get(browse_id)
        if live is None:
            live = self._entries[browse_id] = LivePager()
        elif now - live.touched > self.idle_seconds and not live.lock.locked():
            live.source, live.partial_errors = None, []
        live.touched = now
        self._entries.move_to_end(browse_id)
        self._evict(now)
        return live

    def drop(self, browse_id: str) -> None:
        self._entries.pop(browse_id, None)

    def clear(self) -> None:
        """Forget every live source (the next clicks rebuild them from the store)."""
        self._entries.clear()

    def _evict(self, now: float) -> None:
        # Oldest first: pagers idle too long go (even under max_size: nobody may click them again),
        # then the least recently used down to max_size. A pager mid-click keeps its lock: skip it.
        for browse_id in list(self._entries):
            live = self._entries[browse_id]
            idle = now - live.touched > self.idle_seconds
            if not idle and len(self._entries) <= self.max_size:
                return
            if not live.lock.locked():
                del self._entries[browse_id]

    def __len__(self) -> int:
        return len(self._entries)


_registries: weakref.WeakKeyDictionary[object, LivePagers] = weakref.WeakKeyDictionary()


def live_pagers(bot: LikesBot) -> LivePagers:
    """The bot's live pagers (one LRU per bot: a restarted bot starts empty)."""
    pagers = _registries.get(bot)
    if pagers is None:
        pagers = _registries[bot] = LivePagers()
    return pagers


def _now(bot: LikesBot) -> float:
    return bot.clock().timestamp()


class PageButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                 template=r"ll:pg:(?P<browse_id>[0-9a-z]{1,16}):(?P<page>[0-9]{1,5})"):
    """Previous or Next: shows display page `target` of the paginator `browse_id`."""

    def __init__(self, browse_id: str, target: int, *, label: str = "Next", disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=f"{CUSTOM_ID_PREFIX}:{browse_id}:{target}",
        ))
        self.browse_id = browse_id
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> PageButton:
        label = getattr(item, "label", None) or ""
        disabled = bool(getattr(item, "disabled", False))
        return cls(str(match["browse_id"]), int(match["page"]), label=label, disabled=disabled)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # A server no X account serves gets its one sentence; nothing is asked of X.
        return await cast("LikesBot", interaction.client).admit(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        await turn_page(cast("LikesBot", interaction.client), interaction, self.browse_id, self.target)


class PageLabel(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                template=r"ll:pn:(?P<browse_id>[0-9a-z]{1,16})"):
    """The disabled "Page N of M" between the arrows; dynamic, so discord.py keeps no View per message."""

    def __init__(self, browse_id: str, label: str) -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary, disabled=True, custom_id=f"ll:pn:{browse_id}",
        ))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> PageLabel:
        return cls(str(match["browse_id"]), getattr(item, "label", None) or "Page")


def pager_view(browse_id: str, page: DisplayPage[Any]) -> discord.ui.View | None:
    """Previous / "Page N of M" / Next; None when everything fits on one page.

    Every item is a DynamicItem: the bot finds them by custom_id, so no View is stored per message.
    """
    if not page.has_previous and not page.has_next:
        return None
    view = discord.ui.View(timeout=None)
    previous = max(0, page.number - 1)
    view.add_item(PageButton(browse_id, previous, label="Previous", disabled=not page.has_previous))
    view.add_item(PageLabel(browse_id, page_label(page)))
    view.add_item(PageButton(browse_id, page.number + 1, label="Next", disabled=not page.has_next))
    return view


def partial_footnote(problems: list[PartialError]) -> str:
    """A short note when X left some items out of an answer (a 200 with `errors`)."""
    if not problems:
        return ""
    titles = sorted({p.title or p.kind or "error" for p in problems})
    return clip(f"X could not return {plural(len(problems), 'item')} here ({', '.join(titles)}).", 300)


def render_page(
    bot: LikesBot, kind: str, context: dict[str, Any], page: DisplayPage[Any], problems: list[PartialError],
) -> discord.Embed:
    """The embed of one display page, stamped with the bot's footer note."""
    footnote = partial_footnote(problems)
    if kind == "liking_users":
        like_count = context.get("like_count")
        header = PostHeader(
            post_id=str(context.get("post_id", "")), text=str(context.get("text", "")),
            like_count=like_count if isinstance(like_count, int) else None,
            author_username=context.get("author") if isinstance(context.get("author"), str) else None,
        )
        likers = cast("DisplayPage[User]", page)
        embed = render_likers_page(likers, header, per_page=PER_PAGE, footnote=footnote)
    else:
        account = str(context.get("account", "the account"))
        posts = cast("DisplayPage[Post]", page)
        embed = render_liked_page(posts, account, per_page=PER_PAGE, footnote=footnote)
    return bot.stamp(embed)


def _source(
    bot: LikesBot, kind: str, subject_id: str, problems: list[PartialError], state: BrowseState | None,
) -> BrowseSource[Any]:
    # The fetch keeps the problems list, not the LivePager: no cycle, so a dropped source is freed at once.
    async def fetch(token: str | None) -> Page[Any]:
        page: Page[Any]
        if kind == "liking_users":
            page = await bot.x.liking_users(subject_id, pagination_token=token)
        else:
            page = await bot.x.liked_posts(subject_id, pagination_token=token)
        problems.extend(e for e in page.errors if e not in problems)
        return page

    return BrowseSource(fetch, per_page=PER_PAGE, state=state)


async def browse_context(bot: LikesBot, kind: BrowseKind, subject_id: str) -> dict[str, Any]:
    """What the header of a new paginator shows: the post (text, like count) or the account's handle."""
    if kind == "liking_users":
        post = await bot.x.post(subject_id)
        me = await bot.x.me() if post.author_id else None
        author = me.username if me is not None and me.id == post.author_id else None
        return {"post_id": post.id, "text": post.text[:200], "like_count": post.like_count, "author": author}
    me = await bot.x.me()
    return {"account": me.username if me.id == subject_id else f"id:{subject_id}"}


async def start_browser(
    bot: LikesBot, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str,
    context: dict[str, Any], ephemeral: bool = True,
) -> None:
    """Show page 1 of a new paginator owned by the interaction's user (the interaction is deferred)."""
    await defer(interaction, ephemeral=ephemeral)
    now = _now(bot)
    browse_id = new_browse_id()
    pagers = live_pagers(bot)
    live = pagers.entry(browse_id, now)
    try:
        async with live.lock:
            live.source = _source(bot, kind, subject_id, live.partial_errors, None)
            page = await live.source.first()
            record = BrowseRecord(browse_id, kind, subject_id, interaction.user.id, context,
                                  live.source.state().to_json())
            await save_browse(bot.store.conn, record, now=now)
            embed = render_page(bot, kind, context, page, live.partial_errors)
            await answer(interaction, embed=embed, view=pager_view(browse_id, page), ephemeral=ephemeral)
    except BaseException:
        pagers.drop(browse_id)
        raise
    await delete_browse_older_than(bot.store.conn, now - STATE_RETENTION_SECONDS)


async def open_browser(
    bot: LikesBot, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str,
    ephemeral: bool = True,
) -> None:
    """Answer interaction with a new paginator over `kind` of subject_id, owned by whoever clicked.

    Defers first; never raises: X's refusals and failures are answered with a plain sentence.
    """
    try:
        await defer(interaction, ephemeral=ephemeral)
        context = await browse_context(bot, kind, subject_id)
        await start_browser(bot, interaction, kind=kind, subject_id=subject_id, context=context,
                            ephemeral=ephemeral)
    except Exception as error:
        await report_failure(bot, interaction, error)


async def turn_page(bot: LikesBot, interaction: discord.Interaction, browse_id: str, target: int) -> None:
    """Answer a Previous/Next click: show display page `target`, or say why not. Never raises."""
    try:
        record = await load_browse(bot.store.conn, browse_id)
        if record is None:
            await answer_error(interaction, STATE_GONE)
            return
        if interaction.user.id != record.owner_id:
            await answer_error(interaction, NOT_YOURS)
            return
        await defer(interaction, update=True)
        now = _now(bot)
        pagers = live_pagers(bot)
        live = pagers.entry(browse_id, now)
        # One click at a time per message: its edits reach Discord in click order, one rebuild only.
        async with live.lock:
            if live.source is None:
                try:
                    state = BrowseState.from_json(record.state)
                except InvalidInput:
                    await answer_error(interaction, STATE_GONE)
                    return
                live.source = _source(bot, record.kind, record.subject_id, live.partial_errors, state)
            page = await live.source.page(target)
            embed = render_page(bot, record.kind, record.context, page, live.partial_errors)
            await interaction.edit_original_response(
                embed=embed, view=pager_view(browse_id, page), allowed_mentions=NO_MENTIONS,
            )
            await save_position(bot.store.conn, browse_id, live.source.state().to_json(), now=now)
    except Exception as error:
        await report_failure(bot, interaction, error)
