"""/x connect and /x disconnect (Manage Server): the server's own X account.

`/x connect` answers ephemerally with a link button to X's consent page and a "Paste the address"
button; the browser comes back to the bot's /x/callback (web/), or the member pastes the address X
sent the browser to into a modal, and the same connect flow (accounts/connect_flow.py) finishes it.
The callback's page says what happened in one sentence, and the ephemeral answer is edited to say
so too. The /x group is not behind the account gate: a server with no account must reach it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import escape_markdown

from accounts.callback_pages import CallbackPage, page_for_flow_error
from accounts.connect_flow import Connected, ConnectFlow
from accounts.link_flow import Linked
from accounts.oauth_flow import CallbackQuery, OAuthFlowError
from cogs.members import finish_link, link_answer
from ui.failures import report_failure

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger(__name__)

NONE = discord.AllowedMentions.none()
PASTE_ID = "ll:xp"
NO_CLIENT = (
    "This LikeLens has no X app set up for connecting accounts: its operator must set X_CLIENT_ID "
    "(the X app's OAuth 2.0 client id) and restart it."
)
CONNECT_PROMPT = (
    "Press **Connect on X**, choose the account this server should use and approve. If your browser "
    "cannot reach LikeLens afterwards, copy the address it shows and press **Paste the address**. "
    "The link works once, for 10 minutes."
)


def connected_sentence(done: Connected) -> str:
    """The edited ephemeral answer (and the modal's) once an account is connected."""
    sentence = f"Connected @{escape_markdown(done.account.username)} to this server."
    if done.replaced_handle is not None:
        sentence += f" It replaces @{escape_markdown(done.replaced_handle)}"
        count = done.paused_digests
        paused = "1 digest was" if count == 1 else f"{count} digests were"
        sentence += f", and {paused} paused; resume them with /digest resume." if count else "."
    return sentence


class PasteAddressModal(discord.ui.Modal, title="Paste the address"):
    """Where a member pastes the address X sent the browser to, when the browser could not reach us."""

    address: discord.ui.TextInput[PasteAddressModal] = discord.ui.TextInput(
        label="The address your browser was sent to", style=discord.TextStyle.paragraph,
        placeholder="http://127.0.0.1:8080/x/callback?state=…&code=…", max_length=2000,
    )

    def __init__(self, cog: XCog) -> None:
        super().__init__()
        self.cog = cog

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await self.cog.finish_pasted(interaction, str(self.address.value))


class PasteAddressButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"ll:xp",
):
    """Opens the modal; a DynamicItem, so the button still works after a restart."""

    def __init__(self) -> None:
        super().__init__(discord.ui.Button(
            label="Paste the address", style=discord.ButtonStyle.secondary, custom_id=PASTE_ID,
        ))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: Any, /,
    ) -> PasteAddressButton:
        return cls()

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        cog = interaction.client.get_cog(XCog.__cog_name__)
        if not isinstance(cog, XCog) or cog.flow is None:
            await interaction.response.send_message(NO_CLIENT, ephemeral=True, allowed_mentions=NONE)
            return
        await interaction.response.send_modal(PasteAddressModal(cog))


class XCog(commands.Cog, name="XAccount"):
    """The /x command group and the connect flow behind /x/callback."""

    x = app_commands.Group(
        name="x", description="This server's own X account", guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: LikesBot) -> None:
        self.bot = bot
        self.flow: ConnectFlow | None = bot.connect_flow()
        # The newest connect (its timing is the closing note's figure; tests read it).
        self.last_connect: Connected | None = None

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PasteAddressButton)
        self.bot.x_callback = self.handle_callback

    async def cog_unload(self) -> None:
        self.bot.x_callback = None
        self.bot.remove_dynamic_items(PasteAddressButton)

    async def cog_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError,
    ) -> None:
        cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        await report_failure(self.bot, interaction, cause)

    @x.command(name="connect", description="Connect this server's own X account (in your browser)")
    async def connect(self, interaction: discord.Interaction[Any]) -> None:
        if self.flow is None or interaction.guild_id is None:
            await interaction.response.send_message(NO_CLIENT, ephemeral=True, allowed_mentions=NONE)
            return
        url = await self.flow.start(
            guild_id=interaction.guild_id, member_id=interaction.user.id, interaction_token=interaction.token,
        )
        view = discord.ui.View(timeout=None)
        view.add_item(discord.ui.Button(label="Connect on X", style=discord.ButtonStyle.link, url=url))
        view.add_item(PasteAddressButton())
        await interaction.response.send_message(
            CONNECT_PROMPT, view=view, ephemeral=True, allowed_mentions=NONE,
        )

    @x.command(name="disconnect", description="Disconnect this server's X account, revoking LikeLens' access")
    async def disconnect(self, interaction: discord.Interaction[Any]) -> None:
        if self.flow is None or interaction.guild_id is None:
            await interaction.response.send_message(NO_CLIENT, ephemeral=True, allowed_mentions=NONE)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        gone = await self.flow.disconnect(interaction.guild_id)
        await self._release_live_subscriptions()
        if gone is None:
            sentence = "No X account is connected to this server, so nothing changed."
        else:
            handle = f"@{escape_markdown(gone.handle)}" if gone.handle else "the X account"
            sentence = f"Disconnected {handle} from this server"
            sentence += (" and revoked LikeLens' access at X" if gone.revoked else
                         "; X could not be reached to revoke LikeLens' access, so remove it in X's settings "
                         "(Security and account access, Apps and sessions)")
            if gone.paused_digests:
                count = gone.paused_digests
                sentence += "; 1 digest was paused" if count == 1 else f"; {count} digests were paused"
            sentence += "."
        await interaction.edit_original_response(content=sentence, allowed_mentions=NONE)

    async def _release_live_subscriptions(self) -> None:
        # The account's like.create subscriptions go with it (digests/live_feed.py keeps the others).
        live = getattr(self.bot.get_cog("DigestsCog"), "live", None)
        if live is not None:
            try:
                await live.released()
            except Exception:
                log.exception("Deleting live subscriptions after a disconnect failed: the next start does")

    async def handle_callback(self, query: CallbackQuery) -> CallbackPage:
        """/x/callback: finish the authorization, say so in the page and in the ephemeral answer."""
        if self.flow is None:
            return CallbackPage("Nothing connected", NO_CLIENT, 503)
        try:
            done = await self.flow.complete(query)
        except OAuthFlowError as error:
            return page_for_flow_error(error)
        if isinstance(done, Linked):
            return CallbackPage(*await finish_link(self.bot, done))
        self.last_connect = done
        if done.interaction_token is not None:
            await self._edit_answer(done.interaction_token, connected_sentence(done))
        guild = self.bot.get_guild(done.guild_id)
        where = guild.name if guild is not None else "your Discord server"
        sentence = f"Connected @{done.account.username} to {where}. You can close this tab."
        return CallbackPage("Connected", sentence)

    async def finish_pasted(self, interaction: discord.Interaction[Any], text: str) -> None:
        """The modal's path: the same flow with the pasted address; the answer says what happened."""
        assert self.flow is not None
        await interaction.response.defer()
        try:
            done = await self.flow.complete(CallbackQuery.from_pasted_address(text))
        except OAuthFlowError as error:
            await interaction.followup.send(error.message, ephemeral=True, allowed_mentions=NONE)
            return
        if isinstance(done, Linked):
            await interaction.followup.send(link_answer(done), ephemeral=True, allowed_mentions=NONE)
            return
        self.last_connect = done
        await interaction.edit_original_response(content=connected_sentence(done), view=None,
                                                 allowed_mentions=NONE)

    async def _edit_answer(self, interaction_token: str, content: str) -> None:
        # The /x connect answer, through its interaction's token (valid 15 minutes; a state lives 10).
        route = discord.http.Route(
            "PATCH", "/webhooks/{application_id}/{interaction_token}/messages/@original",
            application_id=self.bot.application_id, interaction_token=interaction_token,
        )
        payload = {"content": content, "components": [], "allowed_mentions": {"parse": []}}
        try:
            await self.bot.http.request(route, json=payload)
        except discord.HTTPException as error:
            # The account is connected all the same; the page says so.
            log.warning("Could not edit the /x connect answer (HTTP %s)", error.status)


async def setup(bot: LikesBot) -> None:
    await bot.add_cog(XCog(bot))
