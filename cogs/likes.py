"""/likes: who likes the community account's X posts, and what it likes.

The command tree below is final (names, options, descriptions, permissions). Each command's body
is the `likes_*` function of the same name: parse what was pasted, defer (before any X call), ask X,
answer through `ui/` (the paginator for lists). What X refuses reaches the cog's one error handler,
which answers with one plain sentence (ui.error_messages).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from accounts.registry import ServingAccount
from accounts.rule import refusal_sentence
from accounts.server_x import ServerX
from cogs import quick_clicks
from cogs.likes_browse import browse_context, likes_browser, start_browser
from cogs.members_lookups import TOP_PERIODS, likes_members, likes_top, likes_trend
from cogs.post_choices import post_autocomplete, recent_posts
from ui.csv_export import EXPORT_COLUMNS, likers_csv
from ui.embeds import render_check, render_status
from ui.error_messages import message_for, protected_account
from ui.failures import report_failure
from ui.paginator import PageButton, PageLabel, use_controller
from ui.respond import answer, answer_error, defer
from ui.text import plural
from xapi import errors
from xapi.models import User
from xapi.refs import UserRef, parse_post_ref, parse_user_ref

if TYPE_CHECKING:
    from bot import LikesBot

# X returns at most 100 likers per post; more pages than this means X is looping.
EXPORT_MAX_PAGES = 20


async def _resolve(x: ServerX, ref: UserRef) -> User:
    """The account named by ref: looked up by username; an id is not looked up (see embeds.user_card).

    /likes check replaces it with X's own card when the id is among the likers; otherwise the
    yes/no answer needs nothing more than the id, so no request is spent on it.
    """
    if ref.username is not None:
        return await x.user_by_username(ref.username)
    assert ref.id is not None
    return User(id=ref.id, username="", name=f"X account {ref.id}")


def _refuse_if_spent(bot: LikesBot, x: ServerX, endpoint: str) -> None:
    """RateLimited, before any request (even the post lookup), when endpoint's budget is known spent."""
    budget = x.budget(endpoint)
    if budget is not None and budget.spent(bot.clock().timestamp()):
        raise errors.RateLimited(
            f"The X rate limit for {endpoint} is spent; nothing was sent.", endpoint=endpoint, status=None,
            reset_at=budget.reset_at, sent=False,
        )


async def _own_post_context(x: ServerX, post_id: str) -> dict[str, object]:
    context = await browse_context(x, "liking_users", post_id)
    if context.get("author") is None:
        # Not the connected account's post: X would refuse; say so without spending a request.
        raise errors.NotAuthorizedForResource("Not the connected account's post.", endpoint="liking_users")
    return context


async def likes_post(bot: LikesBot, interaction: discord.Interaction, *, post: str, public: bool) -> None:
    post_id = parse_post_ref(post)
    x = bot.accounts.x_for(interaction.guild_id)
    await defer(interaction, ephemeral=not public)
    _refuse_if_spent(bot, x, "liking_users")
    known = x.known_like_count(post_id)
    if known is not None:
        # The post and its author, the account and a page of likers: refused whole, before any request.
        await x.expect(3 + min(known, 100), "liking_users")
    context = await _own_post_context(x, post_id)
    await start_browser(bot, interaction, kind="liking_users", subject_id=post_id, context=context,
                        ephemeral=not public)


async def likes_liked(
    bot: LikesBot, interaction: discord.Interaction, *, user: str | None, public: bool
) -> None:
    ref = parse_user_ref(user) if user is not None else None
    x = bot.accounts.x_for(interaction.guild_id)
    await defer(interaction, ephemeral=not public)
    _refuse_if_spent(bot, x, "liked_posts")
    me = await x.me()
    if ref is not None:
        target = await _resolve(x, ref)
        if target.id != me.id:
            if target.protected:
                await answer_error(interaction, protected_account(target.username))
                return
            # X only shows the token owner's likes: refuse here instead of spending a request.
            raise errors.NotAuthorizedForResource("Likes of another account.", endpoint="liked_posts")
    await start_browser(bot, interaction, kind="liked_posts", subject_id=me.id,
                        context={"account": me.username}, ephemeral=not public)


async def _likes_hidden(x: ServerX, post_id: str, listed: int) -> bool:
    """Whether X listed fewer likers than the post's like count (some likes are not visible)."""
    # The post is cached when /likes post showed it; an unknown count may hide likes.
    like_count = (await x.post(post_id)).like_count
    return like_count is None or listed < like_count


async def likes_check(bot: LikesBot, interaction: discord.Interaction, *, post: str, user: str) -> None:
    post_id = parse_post_ref(post)
    ref = parse_user_ref(user)
    x = bot.accounts.x_for(interaction.guild_id)
    await defer(interaction, ephemeral=True)
    _refuse_if_spent(bot, x, "liking_users")
    target = await _resolve(x, ref)
    liked = False
    listed = 0
    token: str | None = None
    # Same arguments as the paginator's first page: fresh likers come from the client's cache.
    for _ in range(EXPORT_MAX_PAGES):
        page = await x.liking_users(post_id, pagination_token=token)
        listed += len(page.items)
        found = next((u for u in page.items if u.id == target.id), None)
        if found is not None:
            target, liked = found, True
            break
        token = page.next_token
        if not token:
            break
    note = ""
    if target.protected and not liked:
        note = ("This account is protected: X leaves protected accounts out of a post's likers, "
                "so LikeLens cannot tell.")
    elif not liked and await _likes_hidden(x, post_id, listed):
        note = ("X lists at most 100 likers per post and leaves out protected and suspended accounts, "
                "so a like beyond those is not visible.")
    embed = bot.stamp(render_check(target, post_id, liked, note=note))
    await answer(interaction, embed=embed)


async def likes_export(bot: LikesBot, interaction: discord.Interaction, *, post: str) -> None:
    post_id = parse_post_ref(post)
    x = bot.accounts.x_for(interaction.guild_id)
    await defer(interaction, ephemeral=True)
    likers: list[User] = []
    token: str | None = None
    for number in range(1, EXPORT_MAX_PAGES + 1):
        await answer(interaction, content=f"Fetching likers from X: page {number}, {len(likers)} so far…")
        page = await x.liking_users(post_id, pagination_token=token)
        likers.extend(page.items)
        token = page.next_token
        if not token:
            break
    file = discord.File(io.BytesIO(likers_csv(likers)), filename=f"likers-{post_id}.csv")
    await answer(interaction, content=(
        f"{plural(len(likers), 'liker')} of post {post_id} ({', '.join(EXPORT_COLUMNS)}). "
        "X lists at most 100 likers per post."
    ), file=file)


def _how_served(serving: ServingAccount) -> str:
    """How the account serves the server, for /likes status."""
    if serving.how == "connected":
        by = f"<@{serving.connected_by}>" if serving.connected_by else "a server manager"
        when = f" <t:{int(serving.connected_at)}:R>" if serving.connected_at else ""
        return f"connected by {by}{when}"
    return "sandbox" if serving.how == "sandbox" else "configured in the environment"


async def likes_status(bot: LikesBot, interaction: discord.Interaction) -> None:
    serving = bot.accounts.serving(interaction.guild_id)
    if serving is None:
        raise errors.NoServingAccount(refusal_sentence(interaction.guild_id))
    await defer(interaction, ephemeral=True)
    client = serving.client
    x = bot.accounts.x_of(serving)
    me: User | None = None
    me_error = ""
    try:
        # The status must show even when the account needs reconnecting (its client says why).
        me = await x.me()
    except errors.AccountRefusal as refusal:
        me_error = refusal.message
    except errors.XApiError as error:
        me_error = message_for(error)
    cap = bot.accounts.daily_cap
    read_today = "" if cap is None else f"Read today: {await x.read_today():,} of {cap:,} items"
    embed = render_status(me, client.budgets(), client.stats, me_error=me_error, notices=client.notices(),
                          handle=serving.handle, how=_how_served(serving), read_today=read_today)
    await answer(interaction, embed=bot.stamp(embed))


POST_DESCRIPTION = "The post's URL (x.com/…/status/…) or id"
PUBLIC_DESCRIPTION = "Show the answer to everyone in the channel (default: only you)"


class LikesCog(commands.Cog):
    """The /likes command group."""

    likes = app_commands.Group(
        name="likes",
        description="Who likes the community's X posts",
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Page buttons of messages sent before a restart keep working.
        self.bot.add_dynamic_items(PageButton, PageLabel)
        use_controller(self.bot, likes_browser(self.bot))
        quick_clicks.install(likes_browser(self.bot))

    async def cog_unload(self) -> None:
        quick_clicks.uninstall(self.bot)
        self.bot.remove_dynamic_items(PageButton, PageLabel)
        use_controller(self.bot, None)
        await likes_browser(self.bot).flush()
        await recent_posts(self.bot).close()

    async def cog_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        # X's refusals become one plain sentence; anything else is logged and answered with an apology.
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report_failure(self.bot, interaction, cause)

    @likes.command(name="post", description="Who liked one of the account's posts")
    @app_commands.describe(post=POST_DESCRIPTION, public=PUBLIC_DESCRIPTION)
    @app_commands.autocomplete(post=post_autocomplete)
    async def post(self, interaction: discord.Interaction, post: str, public: bool = False) -> None:
        await likes_post(self.bot, interaction, post=post, public=public)

    @likes.command(name="liked", description="Posts liked by the account (or by another X account)")
    @app_commands.describe(
        user="An @handle, profile URL or user id (default: the community's account)",
        public=PUBLIC_DESCRIPTION,
    )
    async def liked(
        self, interaction: discord.Interaction, user: str | None = None, public: bool = False
    ) -> None:
        await likes_liked(self.bot, interaction, user=user, public=public)

    @likes.command(name="check", description="Did this X user like this post?")
    @app_commands.describe(post=POST_DESCRIPTION, user="The X user's @handle, profile URL or id")
    @app_commands.autocomplete(post=post_autocomplete)
    async def check(self, interaction: discord.Interaction, post: str, user: str) -> None:
        await likes_check(self.bot, interaction, post=post, user=user)

    @likes.command(name="export", description="All likers of a post as a CSV file")
    @app_commands.describe(post=POST_DESCRIPTION)
    @app_commands.autocomplete(post=post_autocomplete)
    async def export(self, interaction: discord.Interaction, post: str) -> None:
        await likes_export(self.bot, interaction, post=post)

    @likes.command(name="status", description="Connected X account, rate-limit budget, cache and reads today")
    async def status(self, interaction: discord.Interaction) -> None:
        await likes_status(self.bot, interaction)

    @likes.command(name="members", description="Which linked members of this server liked a post")
    @app_commands.describe(post=POST_DESCRIPTION, public=PUBLIC_DESCRIPTION)
    @app_commands.autocomplete(post=post_autocomplete)
    async def members(self, interaction: discord.Interaction, post: str, public: bool = False) -> None:
        await likes_members(self.bot, interaction, post=post, public=public)

    @likes.command(name="top", description="The supporters board: who liked the most of the account's posts")
    @app_commands.describe(days="The last 7, 30 or 90 days (default 30)", public=PUBLIC_DESCRIPTION)
    @app_commands.choices(days=[app_commands.Choice(name=f"{d} days", value=d) for d in TOP_PERIODS])
    async def top(self, interaction: discord.Interaction, days: int = 30, public: bool = False) -> None:
        await likes_top(self.bot, interaction, days=days, public=public)

    @likes.command(name="trend", description="A post's likes over time, as a chart")
    @app_commands.describe(post=POST_DESCRIPTION, public=PUBLIC_DESCRIPTION)
    @app_commands.autocomplete(post=post_autocomplete)
    async def trend(self, interaction: discord.Interaction, post: str, public: bool = False) -> None:
        await likes_trend(self.bot, interaction, post=post, public=public)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(LikesCog(bot))
