"""The LikesBot client: what `python bot.py` runs (launcher.py parses the command line, sets up
logging, takes the single-instance lock and maps failures to exit codes).

setup_hook reads whether the Discord application is public (the account rule, accounts/), opens
the HTTP session, the store and the X client (the built-in sandbox for `--sandbox`), loads the
cogs and syncs the slash commands when they changed.

(A little over 300 lines: setup_hook wires the session, store, vault, web server, accounts and
cogs in one order that close() unwinds; the configured client, the alive file and the command sync
already live in accounts/configured.py, web/alive_file.py and cogs/command_sync.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.ext import commands

from accounts.configured import configured_x
from accounts.connect_flow import ConnectFlow
from accounts.gate import AccountCheckedTree, admit
from accounts.oauth_flow import OAuthClientConfig
from accounts.registry import AccountRegistry, shared_cache
from accounts.rule import configured_account_serves, unserved_servers_notice
from accounts.token_vault import TokenVault, TokenVaultError, load_vault
from cogs.command_sync import command_tree_payload, sync_commands_if_changed
from config import Settings
from store.db import Store, open_store
from store.like_history import LikeHistory
from store.member_links import MemberLinks
from store.oauth_states import OAuthStates
from store.oauth_tokens import attach_vault, secure_stored_tokens
from web import CallbackPage, WebServer, make_app
from web.alive_file import AliveFile
from web.gateway_health import GatewayHealth, watch_gateway
from web.metrics import BotMetrics
from web.pages import HANDLER_FAILED
from xapi.client import XClient

if TYPE_CHECKING:
    from accounts.oauth_flow import CallbackQuery
    from launcher import SecretRedactingFilter

log = logging.getLogger("likelens")

EXTENSIONS = ("cogs.likes", "cogs.digests", "cogs.x", "cogs.message_commands", "cogs.members")
SIMULATED_NOTE = "Simulated data (LikeLens X sandbox)"


# What the bot needs in a channel: read it, post embeds and CSV files, and use its own buttons.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, attach_files=True, read_message_history=True
)


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot with its slash commands and the permissions it needs."""
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class LikesBot(commands.Bot):
    """The LikeLens client. Cogs find what they need on it: `x`, `store`, `settings`,
    `http_session`, `clock`, `simulated`, `footer_text()`, `account_serves()` and `admit()`.

    With SHARD_COUNT set, `LikesBot(settings)` is a ShardedLikesBot (an AutoShardedBot running
    SHARD_IDS of SHARD_COUNT shards); unset, a plain Bot on one unsharded connection, as before.
    """

    x: XClient
    accounts: AccountRegistry
    x_base_url: str
    store: Store
    member_links: MemberLinks
    like_history: LikeHistory
    http_session: aiohttp.ClientSession
    web: WebServer
    vault: TokenVault

    def __new__(cls, settings: Settings, *args: Any, **kwargs: Any) -> LikesBot:
        # One constructor for every caller (launcher, tests): the settings choose the gateway client.
        chosen = ShardedLikesBot if cls is LikesBot and settings.shard_count is not None else cls
        return super().__new__(chosen)

    def __init__(
        self,
        settings: Settings,
        *,
        force_sync: bool = False,
        clock: Callable[[], datetime] = utc_now,
        redactor: SecretRedactingFilter | None = None,
        alive_file: Path | None = None,
        extensions: Iterable[str] = EXTENSIONS,
        x_deadline: float = 10.0,
        **options: Any,
    ) -> None:
        # LikeLens never joins voice: spare every start discord.py's "voice will NOT be supported" warnings.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # No privileged intents: slash commands and GUILD_CREATE need only `guilds`.
        intents = discord.Intents.none()
        intents.guilds = True
        if settings.shard_count is not None:
            options.update(shard_count=settings.shard_count,
                           shard_ids=list(settings.shard_ids) if settings.shard_ids is not None else None)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=AccountCheckedTree,
            **options,
        )
        self.settings = settings
        # This process among the deployment's (holders of leases and digest claims in the database).
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.force_sync = force_sync
        self.clock = clock
        self.simulated = settings.sandbox
        self.redactor = redactor
        self.alive_file = alive_file
        self.extension_names = tuple(extensions)
        # Seconds an X call may take (retries included) before the user is told X is slow or down.
        self.x_deadline = x_deadline
        self.failed_extensions: dict[str, BaseException] = {}
        # True when this start sent the command tree to Discord.
        self.synced_this_start = False
        # Until Discord says otherwise, assume anyone may add the bot (the safe side of the rule).
        self.application_public = True
        self._unserved_notice_logged = False
        # Each shard of this process as /healthz, /metrics and the alive file see it.
        self.gateway: GatewayHealth = watch_gateway(self)
        # Set in sandbox mode: the built-in sandbox's consent page.
        self.sandbox_authorize_url: str | None = None
        # Finishes /x/callback requests (cogs/x.py installs the connect flow's); None: not offered.
        self.x_callback: Callable[[CallbackQuery], Awaitable[CallbackPage]] | None = None
        self._resources = contextlib.AsyncExitStack()

    def footer_text(self, text: str = "") -> str:
        """An embed footer: text, plus the simulated-data note when running on the sandbox."""
        if not self.simulated:
            return text
        return f"{text} · {SIMULATED_NOTE}" if text else SIMULATED_NOTE

    def stamp(self, embed: discord.Embed) -> discord.Embed:
        """Set embed's footer through footer_text (keeps its text and icon); returns embed."""
        text = self.footer_text(embed.footer.text or "")
        if not text and not embed.footer.icon_url:
            # Discord refuses a footer whose text is empty ("this field is required").
            embed.remove_footer()
            return embed
        embed.set_footer(text=text, icon_url=embed.footer.icon_url)
        return embed

    def account_serves(self, guild_id: int | None) -> bool:
        """Whether an X account (connected, or the configured one) answers for guild_id (None: a DM)."""
        return self.accounts.serving(guild_id) is not None

    def configured_account_serves(self, guild_id: int | None) -> bool:
        """Whether the configured X account answers for guild_id (accounts/rule.py)."""
        return configured_account_serves(
            guild_id, sandbox=self.settings.sandbox, listed=self.settings.x_account_guilds,
            application_public=self.application_public,
        )

    async def admit(self, interaction: discord.Interaction[Any]) -> bool:
        """True when interaction's server is served; else it is answered the refusal sentence."""
        return await admit(interaction)

    async def setup_hook(self) -> None:
        # login() has just read GET /oauth2/applications/@me: the "Public Bot" switch, once a start.
        self.application_public = self.application is None or self.application.bot_public
        self.http_session = aiohttp.ClientSession()
        self._resources.push_async_callback(self.http_session.close)
        self.store = await open_store(self.settings.database_path, self.settings.database_url)
        self._resources.push_async_callback(self.store.close)
        self.member_links = MemberLinks(self.store.conn)
        self.like_history = LikeHistory(self.store.conn)
        await self._open_token_vault()
        await self._start_web_server()
        await self._open_accounts()
        for extension in self.extension_names:
            try:
                await self.load_extension(extension)
            except Exception as error:
                self.failed_extensions[extension] = error
                log.exception("Extension %s failed to load; the others still run", extension)
        await self.sync_commands_if_changed()
        if self.alive_file is not None:
            self._keep_alive_file(AliveFile(self.alive_file, self.gateway_connected))

    def _keep_alive_file(self, alive: AliveFile) -> None:
        # A shard down: no file at once (the healthcheck fails now, not 90 s later); all up: a fresh one.
        self.gateway.on_change.append(lambda: alive.write() if self.gateway_connected() else alive.remove())
        task = asyncio.create_task(alive.keep_fresh(self.wait_until_ready, self.is_closed),
                                   name="likelens-alive-file")
        self._resources.push_async_callback(alive.stop, task)

    async def _start_web_server(self) -> None:
        """/x/callback, /healthz, /metrics on WEB_HOST:WEB_PORT (a busy port: WebServerError, a sentence)."""
        self.metrics = BotMetrics(self)
        self.add_listener(self.metrics.tally.on_interaction, "on_interaction")
        app = make_app(is_connected=self.gateway_connected, handle_callback=self._handle_x_callback,
                       metrics=self.metrics.scrape, shards=self.gateway.shards)
        self.web = WebServer(app, public_base_url=self.settings.public_base_url)
        await self.web.start(self.settings.web_host, self.settings.web_port)
        self._resources.push_async_callback(self.web.close)
        log.info("Web server listening on %s:%d (%s)", self.settings.web_host, self.web.port,
                 self.web.base_url)

    def gateway_connected(self) -> bool:
        """The health test of /healthz and of the alive file: every shard of this process connected."""
        return self.gateway.connected()

    async def _handle_x_callback(self, query: CallbackQuery) -> CallbackPage:
        if self.x_callback is None:
            # No connect flow (X_CLIENT_ID unset, or the cog failed to load): nothing to finish here.
            return HANDLER_FAILED
        return await self.x_callback(query)

    async def _open_token_vault(self) -> None:
        """Every token the store keeps is encrypted with LIKELENS_SECRET_KEY (or secret.key beside it)."""
        conn = self.store.conn
        try:
            self.vault = load_vault(self.settings.likelens_secret_key, self.settings.database_path)
            attach_vault(conn, self.vault)
            await secure_stored_tokens(conn)
        except TokenVaultError as error:
            # One line and exit 2, like a configuration error (main() catches no ConfigError here).
            log.error("LikeLens configuration error: %s", error)
            raise SystemExit(2) from None

    async def _open_accounts(self) -> None:
        """bot.accounts: every server's X account, each with its own client on one session and cache."""
        settings = self.settings
        clock = lambda: self.clock().timestamp()  # noqa: E731 (one clock for every client)
        cache = shared_cache(clock)
        configured = await configured_x(
            settings, self.http_session, self.store.conn, cache=cache, clock=clock, deadline=self.x_deadline,
            redactor=self.redactor, resources=self._resources, callback_url=self.web.callback_url,
        )
        self.x, self.x_base_url = configured.client, configured.base_url
        self.sandbox_authorize_url = configured.sandbox_authorize_url
        client_id, client_secret = settings.x_client_id, settings.x_client_secret
        if settings.sandbox:
            from xapi import sandbox  # noqa: PLC0415 (only sandbox runs need the server)

            client_id, client_secret = sandbox.SANDBOX_CLIENT_ID, sandbox.SANDBOX_CLIENT_SECRET
        self.accounts = AccountRegistry(
            self.store.conn, self.http_session, base_url=self.x_base_url, clock=clock,
            field_naming=settings.x_field_naming, deadline=self.x_deadline, oauth_client_id=client_id,
            oauth_client_secret=client_secret, redactor=self.redactor, cache=cache,
            daily_cap=settings.x_daily_items_per_server,
        )
        if settings.has_configured_account:
            self.accounts.use_configured(
                self.x, how="sandbox" if settings.sandbox else "configured",
                serves=self.configured_account_serves,
            )
        await self.accounts.load()
        self._resources.push_async_callback(self.accounts.close)

    def connect_flow(self) -> ConnectFlow | None:
        """The /x connect flow (X_CLIENT_ID's app; the sandbox's under --sandbox); None: no client id."""
        client_id = self.accounts.oauth_client_id
        if not client_id:
            return None
        authorize_url = self.sandbox_authorize_url or self.settings.x_authorize_url
        config = OAuthClientConfig(
            client_id, self.web.callback_url, client_secret=self.accounts.oauth_client_secret,
            authorize_url=authorize_url, api_base_url=self.x_base_url,
        )
        vault = self.vault
        states = OAuthStates(
            self.store.conn, encrypt=vault.encrypt, decrypt=lambda text: vault.decrypt(text)[0],
        )
        return ConnectFlow(
            conn=self.store.conn, states=states, session=self.http_session, config=config,
            accounts=self.accounts, clock=lambda: self.clock().timestamp(), links=self.member_links,
        )

    def command_tree_payload(self, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
        """The JSON `tree.sync(guild=guild)` would send."""
        return command_tree_payload(self, guild)

    async def sync_commands_if_changed(self) -> bool:
        """Sync the command tree when its hash differs from the last synced one (or --sync)."""
        return await sync_commands_if_changed(self)

    async def on_ready(self) -> None:
        guilds = len(self.guilds)
        on = "" if self.settings.shard_count is None else f" on {self.gateway.described()}"
        log.info("Ready as %s in %d server%s%s", self.user, guilds, "" if guilds == 1 else "s", on)
        if self.application_id is not None:
            log.info("Invite it to a server: %s", invite_url(self.application_id))
        notice = unserved_servers_notice(
            sandbox=self.settings.sandbox, listed=self.settings.x_account_guilds,
            application_public=self.application_public, guild_ids=[guild.id for guild in self.guilds],
        )
        # on_ready comes again after a reconnect that could not resume: say it once a start.
        if notice is not None and not self._unserved_notice_logged:
            self._unserved_notice_logged = True
            log.warning(notice)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self._resources.aclose()


class ShardedLikesBot(LikesBot, commands.AutoShardedBot):
    """LikesBot on discord.py's AutoShardedBot: SHARD_IDS of SHARD_COUNT shards in this process, each
    answering its own servers' interactions (Discord routes a server to shard (id >> 22) % count)."""


if __name__ == "__main__":
    # `python bot.py`: let `import bot` (the launcher, the cogs) find this very module instead of
    # loading bot.py a second time, so there is one LikesBot class.
    sys.modules["bot"] = sys.modules[__name__]
    from launcher import main

    sys.exit(main())
