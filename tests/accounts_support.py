"""Connect a server to one of the X sandbox's community accounts without a browser.

`await connect_sandbox_account(bot, x_sandbox, guild_id, handle="maple_guild")` runs the sandbox's
OAuth 2.0 Authorization Code flow with PKCE over HTTP (the consent form submitted as a browser
would), exchanges the code and reads `/2/users/me` with the real accounts.oauth_flow client, then
hands the account and its tokens to `bot.accounts.connect`, as the /x callback does.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from accounts.oauth_flow import OAuthClientConfig, exchange_code, read_me
from accounts.registry import ServingAccount
from bot import LikesBot
from config import Settings
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.emulator import DiscordEmulator, Message
from tests.emulator.state import Guild, Member
from tests.xapi.test_sandbox_oauth import CALLBACK, App
from xapi.sandbox import XSandbox
from xapi.sandbox.community import COMMUNITIES

MANAGER_ID = 4242
# The X app (OAuth 2.0 client id) the test bots connect accounts through.
APP_ID = "likelens-test-app"


def community_id(handle: str) -> str:
    """The X user id of the sandbox community account @handle."""
    for seed in COMMUNITIES:
        if seed.username == handle:
            return seed.id
    raise ValueError(f"the sandbox has no community account @{handle}")


def allow_callback(sandbox: XSandbox, client_id: str) -> None:
    """Let client_id (registered as a public app if the sandbox does not know it) use CALLBACK."""
    known = sandbox.clients.get(client_id)
    if known is None:
        sandbox.register_client(client_id, [CALLBACK])
    elif CALLBACK not in known.redirect_uris:
        uris = known.redirect_uris | {CALLBACK}
        sandbox.clients[client_id] = dataclasses.replace(known, redirect_uris=uris)


async def connect_sandbox_account(
    bot: LikesBot, sandbox: XSandbox, guild_id: int | str, *, handle: str = "maple_guild",
    member_id: int = MANAGER_ID,
) -> ServingAccount:
    """Connect guild_id to the sandbox's @handle through the code flow; returns its serving account."""
    client_id = bot.accounts.oauth_client_id
    assert client_id, "the bot needs an OAuth 2.0 client id (Settings.x_client_id) to connect accounts"
    allow_callback(sandbox, client_id)
    config = OAuthClientConfig(
        client_id, CALLBACK, client_secret=bot.accounts.oauth_client_secret, api_base_url=sandbox.base_url,
    )
    async with aiohttp.ClientSession() as browser:
        code, verifier = await App(browser, sandbox, client_id).sign_in(community_id(handle))
    grant = await exchange_code(bot.http_session, config, code=code, code_verifier=verifier)
    account = await read_me(bot.http_session, config, grant.access_token)
    await bot.accounts.connect(
        int(guild_id), member_id=member_id, account=account, grant=grant, now=bot.clock().timestamp(),
    )
    serving = bot.accounts.serving(int(guild_id))
    assert serving is not None and serving.handle == handle
    return serving


@contextlib.asynccontextmanager
async def accounts_bot(
    emulator: DiscordEmulator, sandbox: XSandbox, database: Path, **options: Any,
) -> AsyncIterator[LikesBot]:
    """A LikesBot on the sandbox that can connect accounts (X_CLIENT_ID = APP_ID); options go to
    Settings (a field name) or LikesBot (e.g. clock)."""
    names = {f.name for f in dataclasses.fields(Settings)}
    overrides = {k: v for k, v in options.items() if k in names}
    bot_options = {k: v for k, v in options.items() if k not in names}
    settings = emulator_settings(emulator, sandbox.base_url, database, x_client_id=APP_ID, **overrides)
    async with running_bot(emulator, settings, **bot_options) as bot:
        yield bot


async def run_in(
    emulator: DiscordEmulator, guild: Guild, command: str, *, member: Member | None = None,
    focused: str | None = None, **options: Any,
) -> InteractionResult:
    """Run /command (or its autocomplete, with focused) as member (default: a new manager) of guild."""
    member = member or emulator.member("manager", guild=guild)
    if "channel" in options:
        options["channel"] = guild.channel(options["channel"])
    interaction = emulator.build_slash(command, options, member=member, guild=guild, focused=focused)
    return await InteractionDriver(emulator)._run(interaction, f"/{command}")


async def click_in(
    emulator: DiscordEmulator, message: Message | InteractionResult, custom_id: str, *, member: Member,
) -> InteractionResult:
    """member clicks custom_id on message."""
    return await InteractionDriver(emulator).click(message, custom_id, member=member)
