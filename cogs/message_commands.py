"""Message commands (right-click a message → Apps): "Who liked this post".

It finds the X post links in the message (its text, and its embeds' url, title, description and
fields, as Discord unfurls links) and opens the /likes post paginator, ephemerally, for the first
link to a post of the server's account; when no link names that account, the first post link is
used, so a post of another account gets the very sentence `/likes post` gives (X is asked who
wrote it; a link's handle may be stale). A message without a post link gets one sentence.
The menu is added to the tree in `cog_load` and removed in `cog_unload`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from cogs.likes import likes_post
from ui.failures import connected_handle, report_failure
from ui.respond import answer_error, defer
from xapi.errors import InvalidReference
from xapi.refs import parse_post_ref

if TYPE_CHECKING:
    from bot import LikesBot

WHO_LIKED = "Who liked this post"
NO_POST_LINK = (
    "This message has no link to an X post: right-click a message with a post link "
    "(https://x.com/…/status/…), or use `/likes post`."
)
# A link to an X host (or a link fixer's), up to where Discord markdown or punctuation ends it.
_LINK = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.|mobile\.|m\.)?"
    r"(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com/[^\s<>()\[\]|*`'\"]+",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?~_"


@dataclass(frozen=True, slots=True)
class PostLink:
    """A post link found in a message: the post's id and the handle the link names (None: /i/status)."""

    post_id: str
    handle: str | None


def message_texts(message: discord.Message) -> Iterator[str]:
    """The message's text, then each embed's url, title, description and fields, in reading order."""
    yield message.content
    for embed in message.embeds:
        yield from (embed.url or "", embed.title or "", embed.description or "")
        for field in embed.fields:
            yield from (field.name or "", field.value or "")


def post_links(texts: Iterator[str]) -> list[PostLink]:
    """Every X post link in texts, in order."""
    links: list[PostLink] = []
    for text in texts:
        for match in _LINK.finditer(text):
            candidate = match.group(0).rstrip(_TRAILING)
            try:
                post_id = parse_post_ref(candidate)
            except InvalidReference:
                continue
            if "://" not in candidate:
                candidate = "https://" + candidate
            author = urlsplit(candidate).path.strip("/").split("/")[0]
            links.append(PostLink(post_id, None if author.lower() == "i" else author))
    return links


def pick_link(links: list[PostLink], handle: str | None) -> PostLink | None:
    """The first link to a post of @handle; else the first post link (X then says whose it is)."""
    if handle is not None:
        own = next((link for link in links if link.handle and link.handle.lower() == handle.lower()), None)
        if own is not None:
            return own
    return links[0] if links else None


class MessageCommandsCog(commands.Cog):
    """The bot's message commands."""

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.who_liked_menu = app_commands.ContextMenu(
            name=WHO_LIKED, callback=self.who_liked,
            allowed_contexts=app_commands.AppCommandContext(guild=True),
        )
        # As /likes: server moderators only, never in DMs.
        self.who_liked_menu.guild_only = True
        self.who_liked_menu.default_permissions = discord.Permissions(manage_messages=True)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.who_liked_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.who_liked_menu.name, type=self.who_liked_menu.type)

    async def who_liked(self, interaction: discord.Interaction, message: discord.Message) -> None:
        bot = self.bot
        # The account gate covers /likes and /digest only: a message command checks for itself.
        if not await bot.admit(interaction):
            return
        links = post_links(message_texts(message))
        try:
            if not links:
                await answer_error(interaction, NO_POST_LINK)
                return
            await defer(interaction, ephemeral=True)
            # Only needed to choose among several links; the client caches the account.
            handle = await connected_handle(bot, interaction.guild_id) if len(links) > 1 else None
            chosen = pick_link(links, handle)
            assert chosen is not None
            await likes_post(bot, interaction, post=chosen.post_id, public=False)
        except Exception as error:
            await report_failure(bot, interaction, error)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(MessageCommandsCog(bot))
