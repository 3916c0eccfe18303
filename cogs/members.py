"""/link and /unlink (every member): a member's own X account beside their likes, with consent first.

`/link` answers ephemerally with the one consent sentence, then a link button to X's consent page
(scopes `tweet.read users.read` only). The browser comes back to /x/callback, where the connect
flow sees the state's purpose and hands it to accounts.link_flow: the member's X id and handle are
stored for this server and the member's token is revoked at X (nothing of it is kept). The page and
the edited ephemeral answer say what happened. `/unlink` deletes the link at once. When the bot
leaves a server, every link of that server goes. (A member leaving is not seen: that event needs
the privileged members intent, which LikeLens does not ask for; /unlink and the server's removal
cover it, and links only ever name members who opted in.)

Hourly, the like counts of the posts LikeLens recorded in the last SAMPLE_DAYS days are sampled for
/likes trend: one batched GET /2/tweets?ids= (100 posts) per account (X bills a post once per UTC
day), through the server's metered account for connected accounts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from accounts.connect_flow import ConnectFlow
from accounts.link_flow import Linked
from digests.post_checks import XReads
from digests.trends import sample_like_counts
from ui.failures import report_failure
from ui.members_embeds import already_linked_sentence, consent_sentence, linked_sentence, unlinked_sentence
from xapi import errors

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
SAMPLE_DAYS = 7
NO_CLIENT = (
    "This LikeLens has no X app set up for linking accounts: its operator must set X_CLIENT_ID "
    "(the X app's OAuth 2.0 client id) and restart it."
)
LINK_HOW = ("If you agree, press **Link on X** and sign in with your own X account. "
            "LikeLens reads who you are on X and keeps no access to your account. The link works once, "
            "for 10 minutes.")


def link_answer(done: Linked) -> str:
    """The edited ephemeral /link answer (Discord markdown escaped)."""
    if done.refused:
        return already_linked_sentence(done.handle, markdown=True)
    # The member is in that server: "this server" reads better than its name repeated.
    return linked_sentence(done.handle, "this server", markdown=True)


def link_page(done: Linked, server_name: str) -> tuple[str, str, int]:
    """The /x/callback page of a finished /link: title, sentence (plain text; the page escapes it) and
    HTTP status, as web.CallbackPage takes them (cogs/ does not import web/)."""
    if done.refused:
        return "Nothing linked", already_linked_sentence(done.handle, markdown=False), 409
    sentence = linked_sentence(done.handle, server_name, markdown=False)
    return "Linked", sentence + " You can close this tab.", 200


async def edit_original(bot: LikesBot, interaction_token: str, content: str) -> None:
    """Edit a command's ephemeral answer through its interaction token (valid 15 minutes)."""
    route = discord.http.Route(
        "PATCH", "/webhooks/{application_id}/{interaction_token}/messages/@original",
        application_id=bot.application_id, interaction_token=interaction_token,
    )
    payload = {"content": content, "components": [], "allowed_mentions": {"parse": []}}
    try:
        await bot.http.request(route, json=payload)
    except discord.HTTPException as error:
        # Linked all the same; the page says so.
        log.warning("Could not edit the /link answer (HTTP %s)", error.status)


async def finish_link(bot: LikesBot, done: Linked) -> tuple[str, str, int]:
    """/x/callback after a /link: edit the member's answer, and the page to show."""
    if done.interaction_token is not None:
        await edit_original(bot, done.interaction_token, link_answer(done))
    guild = bot.get_guild(done.guild_id)
    return link_page(done, guild.name if guild is not None else "your Discord server")


class MembersCog(commands.Cog, name="Members"):
    """/link and /unlink, and forgetting a server's links when the bot leaves it."""

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.flow: ConnectFlow | None = bot.connect_flow()

    async def cog_load(self) -> None:
        self.hourly_samples.start()

    async def cog_unload(self) -> None:
        self.hourly_samples.cancel()

    @tasks.loop(hours=1)
    async def hourly_samples(self) -> None:
        if self.hourly_samples.current_loop == 0:
            # Not at start-up: a restart asks X nothing of its own (the first sample is an hour later).
            return
        try:
            await self.sample_like_counts()
        except Exception:
            log.exception("Sampling like counts failed; it is tried again in an hour")

    async def sample_like_counts(self) -> int:
        """Record the like counts of each account's recently recorded posts; returns samples added."""
        bot = self.bot
        now = bot.clock().timestamp()
        since = now - SAMPLE_DAYS * 86400
        readers: dict[str, XReads] = {s.x_user_id: bot.accounts.x_of(s) for s in bot.accounts.connected()
                                      if s.x_user_id and s.needs_reconnect is None}
        added = 0
        for account_id in await bot.like_history.recorded_accounts(since=since):
            try:
                reader = readers.get(account_id) or await self._configured_reader(account_id)
                if reader is None:
                    continue
                posts = await bot.like_history.recent_posts(account_id, since=since)
                added += await sample_like_counts(reader, bot.like_history, account_id=account_id,
                                                  post_ids=posts, now=now)
            except errors.XApiError as error:
                log.warning("Like counts of an account not sampled this hour: %s", type(error).__name__)
        return added

    async def _configured_reader(self, account_id: str) -> XReads | None:
        # The environment's account: its id is /2/users/me's (cached by its client).
        client = getattr(self.bot, "x", None)
        if client is None or not self.bot.settings.has_configured_account:
            return None
        me = await client.me()
        return client if me.id == account_id else None

    async def cog_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError,
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report_failure(self.bot, interaction, cause)

    @app_commands.command(
        name="link", description="Show your X handle to this server's moderators beside your likes",
    )
    @app_commands.guild_only()
    async def link(self, interaction: discord.Interaction[Any]) -> None:
        if self.flow is None or interaction.guild_id is None:
            await interaction.response.send_message(NO_CLIENT, ephemeral=True, allowed_mentions=NONE)
            return
        serving = self.bot.accounts.serving(interaction.guild_id)
        url = await self.flow.start_link(
            guild_id=interaction.guild_id, member_id=interaction.user.id, interaction_token=interaction.token,
        )
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Link on X", style=discord.ButtonStyle.link, url=url))
        # Consent first: the sentence stands above the button that gives it.
        content = consent_sentence(serving.handle if serving is not None else None) + "\n\n" + LINK_HOW
        await interaction.response.send_message(content, view=view, ephemeral=True, allowed_mentions=NONE)

    @app_commands.command(name="unlink", description="Remove your X handle from this server at once")
    @app_commands.guild_only()
    async def unlink(self, interaction: discord.Interaction[Any]) -> None:
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.bot.member_links.unlink(interaction.guild_id, interaction.user.id)
        await interaction.edit_original_response(
            content=unlinked_sentence(removed.handle if removed is not None else None), allowed_mentions=NONE)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await self.bot.member_links.unlink_server(guild.id)
        log.info("Left server %s: %d member links removed", guild.id, removed)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(MembersCog(bot))
