"""/likes: who likes the community account's X posts, and what it likes.

The command tree below is final (names, options, descriptions, permissions). Each command's body
delegates to the `likes_*` function of the same name: the likes issue fills those in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.placeholder import answer_not_available_yet

if TYPE_CHECKING:
    from bot import LikesBot


async def likes_post(bot: LikesBot, interaction: discord.Interaction, *, post: str, public: bool) -> None:
    await answer_not_available_yet(interaction)


async def likes_liked(
    bot: LikesBot, interaction: discord.Interaction, *, user: str | None, public: bool
) -> None:
    await answer_not_available_yet(interaction)


async def likes_check(bot: LikesBot, interaction: discord.Interaction, *, post: str, user: str) -> None:
    await answer_not_available_yet(interaction)


async def likes_export(bot: LikesBot, interaction: discord.Interaction, *, post: str) -> None:
    await answer_not_available_yet(interaction)


async def likes_status(bot: LikesBot, interaction: discord.Interaction) -> None:
    await answer_not_available_yet(interaction)


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

    @likes.command(name="post", description="Who liked one of the account's posts")
    @app_commands.describe(post=POST_DESCRIPTION, public=PUBLIC_DESCRIPTION)
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
    async def check(self, interaction: discord.Interaction, post: str, user: str) -> None:
        await likes_check(self.bot, interaction, post=post, user=user)

    @likes.command(name="export", description="All likers of a post as a CSV file")
    @app_commands.describe(post=POST_DESCRIPTION)
    async def export(self, interaction: discord.Interaction, post: str) -> None:
        await likes_export(self.bot, interaction, post=post)

    @likes.command(name="status", description="Connected X account, rate-limit budget, cache and reads today")
    async def status(self, interaction: discord.Interaction) -> None:
        await likes_status(self.bot, interaction)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(LikesCog(bot))
