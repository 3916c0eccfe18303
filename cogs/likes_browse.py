"""The /likes paginator's controller: opens paginators and answers their Previous/Next clicks.

It owns what a click touches (the store's paginator state, the X client, the live page sources of
cogs/live_pagers.py); ui/paginator.py renders and answers. The page buttons reach it through the
`ui.paginator.BrowseController` protocol: `LikesCog.cog_load` registers the bot's LikesBrowser
with `ui.paginator.use_controller`, so ui/ never imports cogs/.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord

from cogs.browse_positions import PositionWriter
from cogs.live_pagers import LIVE_PAGERS, FetchHooks, LivePager, LivePagers, ShownPage, render_key
from store.browse_state import (
    BrowseRecord,
    delete_browse_older_than,
    load_browse,
    new_browse_id,
    save_browse,
)
from ui.failures import report_failure
from ui.paginator import (
    NOT_YOURS,
    OTHER_SERVER,
    PER_PAGE,
    STATE_GONE,
    BrowseKind,
    click_answer_body,
    pager_view,
    render_page,
)
from ui.respond import answer, answer_error, defer, update_clicked
from xapi.browse import BrowseSource, BrowseState, DisplayPage
from xapi.errors import InvalidInput
from xapi.models import Page

if TYPE_CHECKING:
    from accounts.server_x import ServerX
    from bot import LikesBot

__all__ = ["LIVE_PAGERS", "LikesBrowser", "browse_context", "likes_browser", "live_pagers", "start_browser"]

# Paginator state older than this is forgotten (its buttons then say so).
STATE_RETENTION_SECONDS = 30 * 24 * 3600


def _source(bot: LikesBot, kind: str, subject_id: str, hooks: FetchHooks, state: BrowseState | None, *,
            guild_id: int | None, account_id: str | None = None) -> BrowseSource[Any]:
    # The fetch keeps the hooks, not the LivePager: no cycle, so a dropped source is freed at once.
    async def fetch(token: str | None) -> Page[Any]:
        # The paginator's own server's account, looked up at each fetch: it may have changed meanwhile.
        x = bot.accounts.x_for(guild_id)
        if hooks.defer_click is not None:
            await defer(hooks.defer_click, update=True)
        page: Page[Any]
        if kind == "liking_users":
            page = await x.liking_users(subject_id, pagination_token=token)
            await _record_likers(bot, account_id, subject_id, page)
            # Looked up with the fetch: a page answered from memory touches no store.
            hooks.members.update(await _linked_members(bot, guild_id, page.items))
        else:
            page = await x.liked_posts(subject_id, pagination_token=token)
        hooks.problems.extend(e for e in page.errors if e not in hooks.problems)
        return page

    return BrowseSource(fetch, per_page=PER_PAGE, state=state)


async def _record_likers(bot: LikesBot, account_id: str | None, post_id: str, page: Page[Any]) -> None:
    # Likers read are likers seen: /likes top and /likes trend count them without asking X again.
    # The account is the post's author (browse_context checked it is the account's own post).
    if account_id and page.items:
        likers = [(user.id, user.username) for user in page.items]
        await bot.like_history.record_likers(account_id, post_id, likers, source="lookup",
                                             now=bot.clock().timestamp())


def _author_id(context: dict[str, Any]) -> str | None:
    author_id = context.get("author_id")
    return author_id if isinstance(author_id, str) else None


async def _linked_members(bot: LikesBot, guild_id: int | None, likers: Sequence[Any]) -> dict[str, int]:
    """X id → member id of these likers who linked their X account in this server (one query)."""
    if guild_id is None or not likers:
        return {}
    links = await bot.member_links.by_x_ids(guild_id, (user.id for user in likers))
    return {x_id: link.member_id for x_id, link in links.items()}


async def browse_context(x: ServerX, kind: BrowseKind, subject_id: str) -> dict[str, Any]:
    """What the header of a new paginator shows: the post (text, like count) or the account's handle."""
    if kind == "liking_users":
        post = await x.post(subject_id)
        me = await x.me() if post.author_id else None
        author = me.username if me is not None and me.id == post.author_id else None
        return {"post_id": post.id, "text": post.text[:200], "like_count": post.like_count, "author": author,
                "author_id": post.author_id if author is not None else None}
    me = await x.me()
    return {"account": me.username if me.id == subject_id else f"id:{subject_id}"}


class LikesBrowser:
    """One bot's paginators: its live sources, and the answers to their commands and clicks."""

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.pagers = LivePagers()
        self.positions = PositionWriter(lambda: bot.store.conn)
        # Clicks answered by cogs/quick_clicks.py from a held page (the benchmark checks all of its were).
        self.quick_answers = 0

    def now(self) -> float:
        return self.bot.clock().timestamp()

    async def start(
        self, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str,
        context: dict[str, Any], ephemeral: bool = True,
    ) -> None:
        """Show page 1 of a new paginator owned by the interaction's user (the interaction is deferred)."""
        bot = self.bot
        await defer(interaction, ephemeral=ephemeral)
        now = self.now()
        browse_id = new_browse_id()
        live = self.pagers.entry(browse_id, now)
        try:
            async with live.lock:
                live.source = _source(bot, kind, subject_id, live.hooks, None, guild_id=interaction.guild_id,
                                      account_id=_author_id(context))
                page = await live.source.first()
                record = BrowseRecord(browse_id, kind, subject_id, interaction.user.id, context,
                                      live.source.state().to_json(), interaction.guild_id)
                await save_browse(bot.store.conn, record, now=now)
                live.record = record
                # Nothing kept for clicks yet: a paginator nobody clicks costs no rendered pages (the
                # first click renders and prepares the pages its buttons lead to).
                embed = render_page(bot, kind, context, page, live.hooks.problems, members=live.hooks.members)
                await answer(interaction, embed=embed, view=pager_view(browse_id, page), ephemeral=ephemeral)
        except BaseException:
            self.pagers.drop(browse_id)
            raise
        await delete_browse_older_than(bot.store.conn, now - STATE_RETENTION_SECONDS)

    async def open(
        self, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str, ephemeral: bool = True,
    ) -> None:
        """Answer interaction with a new paginator over `kind` of subject_id. Never raises."""
        try:
            await defer(interaction, ephemeral=ephemeral)
            context = await browse_context(self.bot.accounts.x_for(interaction.guild_id), kind, subject_id)
            await self.start(interaction, kind=kind, subject_id=subject_id, context=context,
                             ephemeral=ephemeral)
        except Exception as error:
            await report_failure(self.bot, interaction, error)

    async def turn(self, interaction: discord.Interaction, browse_id: str, target: int) -> None:
        """Answer a Previous/Next click: show display page `target`, or say why not. Never raises.

        A live paginator answers from memory, in the click's own response when no X request is
        needed (one request to Discord, like a bare click), and stores its position afterwards.
        """
        bot = self.bot
        try:
            now = self.now()
            record = self.pagers.live_record(browse_id, now) or await load_browse(bot.store.conn, browse_id)
            refusal = _refusal(interaction, record)
            if refusal is not None:
                # Nothing kept for a refused click: crafted ids must not evict the live paginators.
                await answer_error(interaction, refusal)
                return
            assert record is not None
            live = self.pagers.entry(browse_id, now)
            if live.lock.locked():
                # Another click on this message is being answered: acknowledge now, show the page after it.
                await defer(interaction, update=True)
            # One click at a time per message: its edits reach Discord in click order, one rebuild only.
            async with live.lock:
                if live.source is None:
                    try:
                        state = BrowseState.from_json(record.state)
                    except InvalidInput:
                        await answer_error(interaction, STATE_GONE)
                        return
                    live.source = _source(bot, record.kind, record.subject_id, live.hooks, state,
                                          account_id=_author_id(record.context),
                                          guild_id=record.guild_id)
                    live.record = record
                live.hooks.defer_click = interaction
                try:
                    page = await live.source.page(target)
                finally:
                    live.hooks.defer_click = None
                shown = self._shown(browse_id, live, record, page)
                await update_clicked(interaction, embed=shown.embed, view=shown.view)
                # Stored after answering: a restart before it is written shows the page before.
                self.positions.save(browse_id, live.source.state().to_json(), now=now)
                self.prepare_neighbours(browse_id, live, page)
        except Exception as error:
            await report_failure(bot, interaction, error)

    def _shown(
        self, browse_id: str, live: LivePager, record: BrowseRecord, page: DisplayPage[Any],
    ) -> ShownPage:
        """The page rendered (once: then kept among the pager's rendered pages)."""
        key = render_key(page, live.hooks.problems)
        shown = live.rendered.get(key)
        if shown is None:
            embed = render_page(self.bot, record.kind, record.context, page, live.hooks.problems,
                                members=live.hooks.members)
            shown = ShownPage(embed, pager_view(browse_id, page))
        return live.remember(key, shown)

    def prepare_neighbours(self, browse_id: str, live: LivePager, page: DisplayPage[Any]) -> None:
        """After a click was answered: the pages its message's buttons lead to (and the page itself),
        if held, rendered and their answers serialized, so that a click on them is answered at once."""
        source, record = live.source, live.record
        if source is None or record is None:
            return
        for number in (page.number - 1, page.number + 1, page.number):
            held = source.held_page(number) if number >= 0 else None
            if held is not None:
                shown = self._shown(browse_id, live, record, held)
                if shown.body is None:
                    shown.body = click_answer_body(self.bot, shown.embed, shown.view)

    async def flush(self) -> None:
        """Store every position not yet written (the cog unloads before the store closes)."""
        await self.positions.flush()


def _refusal(interaction: discord.Interaction, record: BrowseRecord | None) -> str | None:
    """Why this click may not turn record's pages, or None."""
    if record is None or record.guild_id is None:
        return STATE_GONE
    if interaction.guild_id != record.guild_id:
        # A state id crafted into a button in another server: show nothing of this one.
        return OTHER_SERVER
    if interaction.user.id != record.owner_id:
        return NOT_YOURS
    return None


_browsers: weakref.WeakKeyDictionary[object, LikesBrowser] = weakref.WeakKeyDictionary()


def likes_browser(bot: LikesBot) -> LikesBrowser:
    """The bot's browse controller (one per bot: a restarted bot starts with no live sources)."""
    browser = _browsers.get(bot)
    if browser is None:
        browser = _browsers[bot] = LikesBrowser(bot)
    return browser


def live_pagers(bot: LikesBot) -> LivePagers:
    """The bot's live pagers (the benchmarks and tests look at them)."""
    return likes_browser(bot).pagers


async def start_browser(
    bot: LikesBot, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str,
    context: dict[str, Any], ephemeral: bool = True,
) -> None:
    """Show page 1 of a new paginator owned by the interaction's user (the interaction is deferred)."""
    await likes_browser(bot).start(interaction, kind=kind, subject_id=subject_id, context=context,
                                   ephemeral=ephemeral)
