"""/likes members, /likes top and /likes trend: the bodies of the three commands in cogs/likes.py.

Each defers first (before any X call), reads through the server's own metered account
(bot.accounts.x_for), records what it read in the like history, and answers with an embed whose
linked members are `<@id>` mentions (never pings: every send passes AllowedMentions.none()). The
charts are rendered off the event loop (asyncio.to_thread) and attached as PNG files; the embed
carries their text summary.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

import discord

from accounts.server_x import ServerX
from digests.linked_members import linked_likers
from digests.supporters import check_period
from digests.supporters_reading import board_view, build_board
from digests.trends import post_trend
from ui.charts import render_supporters_chart, render_trend_chart
from ui.members_embeds import (
    BOARD_ROWS,
    RECOGNITION_NOTE,
    SUPPORTERS_CHART,
    TREND_CHART,
    board_bars,
    render_members,
    render_top,
    render_trend,
)
from ui.respond import answer, defer
from xapi.refs import parse_post_ref

if TYPE_CHECKING:
    from bot import LikesBot

# /likes top's periods (days), as its `days` option offers them.
TOP_PERIODS = (7, 30, 90)


async def _account(bot: LikesBot, guild_id: int, x: ServerX) -> tuple[str, str | None]:
    """The serving account's X id and handle (one cached /2/users/me when not known yet)."""
    serving = bot.accounts.serving(guild_id)
    if serving is not None and serving.x_user_id:
        return serving.x_user_id, serving.handle
    me = await x.me()
    return me.id, me.username


def _guild(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # the /likes group is guild only
    return interaction.guild_id


async def likes_members(bot: LikesBot, interaction: discord.Interaction, *, post: str, public: bool) -> None:
    post_id = parse_post_ref(post)
    guild_id = _guild(interaction)
    x = bot.accounts.x_for(guild_id)
    await defer(interaction, ephemeral=not public)
    account_id, handle = await _account(bot, guild_id, x)
    found = await linked_likers(x, bot.like_history, bot.member_links, guild_id=guild_id,
                                account_id=account_id, post_id=post_id, now=bot.clock().timestamp(),
                                author_username=handle)
    embed = render_members(found.post_id, found.linked, unlinked=found.unlinked, listed=found.listed,
                           like_count=found.like_count, author_username=handle,
                           footer=bot.footer_text(RECOGNITION_NOTE))
    await answer(interaction, embed=embed, ephemeral=not public)


async def likes_top(bot: LikesBot, interaction: discord.Interaction, *, days: int, public: bool) -> None:
    period = check_period(days)
    guild_id = _guild(interaction)
    x = bot.accounts.x_for(guild_id)
    await defer(interaction, ephemeral=not public)
    account_id, handle = await _account(bot, guild_id, x)
    board = await build_board(x, bot.like_history, bot.member_links, guild_id=guild_id, account_id=account_id,
                              days=period, now=bot.clock().timestamp())
    rows, facts = board_view(board, handle)
    embed = render_top(rows, facts, chart_attached=bool(rows), footer=bot.footer_text(RECOGNITION_NOTE))
    chart: discord.File | None = None
    if rows:
        whose = f" of @{handle}" if handle else ""
        title = f"Supporters{whose} · last {period} days"
        # Rendering takes tens of milliseconds of CPU: off the event loop.
        png = await asyncio.to_thread(render_supporters_chart, board_bars(rows[:BOARD_ROWS]), title=title)
        chart = discord.File(io.BytesIO(png), filename=SUPPORTERS_CHART)
    await answer(interaction, embed=embed, file=chart, ephemeral=not public)


async def likes_trend(bot: LikesBot, interaction: discord.Interaction, *, post: str, public: bool) -> None:
    post_id = parse_post_ref(post)
    guild_id = _guild(interaction)
    x = bot.accounts.x_for(guild_id)
    await defer(interaction, ephemeral=not public)
    account_id, handle = await _account(bot, guild_id, x)
    trend = await post_trend(x, bot.like_history, account_id=account_id, post_id=post_id,
                             now=bot.clock().timestamp())
    enough = len(trend.samples) >= 2
    embed = render_trend(post_id, trend.samples, trend.newest, author_username=handle, chart_attached=enough,
                         footer=bot.footer_text())
    chart: discord.File | None = None
    if enough:
        png = await asyncio.to_thread(render_trend_chart, trend.samples, trend.newest,
                                      title="Likes over time")
        chart = discord.File(io.BytesIO(png), filename=TREND_CHART)
    await answer(interaction, embed=embed, file=chart, ephemeral=not public)
