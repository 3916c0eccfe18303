"""bot.accounts: which account serves a server, its tokens at rest, and one client per account.

Real LikesBot on the Discord emulator, real X sandbox (OAuth 2.0 code flow over HTTP), real SQLite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from accounts.registry import AccountRegistry, shared_cache
from bot import LikesBot
from tests.accounts_support import connect_sandbox_account
from tests.botharness import emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.xapi.support import SettableClock
from xapi.sandbox import XSandbox
from xapi.sandbox.community import COMMUNITY_HARBOR, COMMUNITY_MAPLE

APP_ID = "likelens-test-app"


@pytest_asyncio.fixture
async def public_emulator() -> AsyncIterator[DiscordEmulator]:
    """A public application: the configured account serves no server unless X_ACCOUNT_GUILDS says so."""
    async with DiscordEmulator(bot_public=True) as server:
        yield server


@pytest_asyncio.fixture
async def pbot(
    public_emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> AsyncIterator[LikesBot]:
    settings = emulator_settings(
        public_emulator, x_sandbox.base_url, tmp_path / "likelens.db", x_client_id=APP_ID)
    async with running_bot(public_emulator, settings) as running:
        yield running


async def test_a_connected_server_is_served_by_its_account_and_the_others_by_none(
    pbot: LikesBot, public_emulator: DiscordEmulator, x_sandbox: XSandbox
) -> None:
    guild = int(public_emulator.guild.id)
    other = int(public_emulator.add_guild("Another Server").id)
    assert pbot.accounts.serving(guild) is None and not pbot.account_serves(guild)
    serving = await connect_sandbox_account(pbot, x_sandbox, guild, handle="maple_guild")
    assert (serving.how, serving.x_user_id, serving.connected_by) == ("connected", COMMUNITY_MAPLE.id, 4242)
    assert pbot.account_serves(guild) and not pbot.account_serves(other)
    assert pbot.accounts.serving(other) is None
    assert serving.client is not pbot.x
    assert (await serving.client.me()).username == "maple_guild"


async def test_tokens_are_stored_encrypted_and_survive_a_restart(
    public_emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    database = tmp_path / "likelens.db"
    settings = emulator_settings(public_emulator, x_sandbox.base_url, database, x_client_id=APP_ID)
    guild = int(public_emulator.guild.id)
    async with running_bot(public_emulator, settings) as bot:
        serving = await connect_sandbox_account(bot, x_sandbox, guild, handle="harbor_club")
        refresh = serving.refresh_token()
        assert refresh
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("likelens.db*")))  # noqa: ASYNC240
    assert refresh.encode() not in raw
    async with running_bot(public_emulator, settings) as bot:
        again = bot.accounts.serving(guild)
        assert again is not None and again.handle == "harbor_club" and again.refresh_token() == refresh
        assert (await again.client.me()).id == COMMUNITY_HARBOR.id


async def test_disconnect_forgets_the_tokens_and_returns_the_refresh_token_to_revoke(
    pbot: LikesBot, public_emulator: DiscordEmulator, x_sandbox: XSandbox
) -> None:
    guild = int(public_emulator.guild.id)
    connected = await connect_sandbox_account(pbot, x_sandbox, guild)
    gone = await pbot.accounts.disconnect(guild)
    assert gone is not None and gone.handle == "maple_guild"
    assert gone.refresh_token() == connected.refresh_token()
    assert pbot.accounts.serving(guild) is None
    assert await pbot.accounts.disconnect(guild) is None


async def test_connecting_again_replaces_the_account_and_returns_the_old_one(
    pbot: LikesBot, public_emulator: DiscordEmulator, x_sandbox: XSandbox
) -> None:
    guild = int(public_emulator.guild.id)
    await connect_sandbox_account(pbot, x_sandbox, guild, handle="maple_guild")
    await connect_sandbox_account(pbot, x_sandbox, guild, handle="harbor_club")
    serving = pbot.accounts.serving(guild)
    assert serving is not None and serving.handle == "harbor_club"
    assert (await serving.client.me()).username == "harbor_club"


async def test_one_shared_cache_never_answers_one_account_with_another_accounts_answer(
    x_sandbox: XSandbox, tmp_path: Path
) -> None:
    # Same URL (/2/users/me), same shared cache, two tokens: a key without the token identity would
    # answer harbor_club's client with maple_guild's cached answer.
    async with aiohttp.ClientSession() as session:
        from store.db import Store  # noqa: PLC0415

        store = await Store.open(tmp_path / "likelens.db")
        try:
            clock = SettableClock()
            cache = shared_cache(clock)
            registry = AccountRegistry(store.conn, session, base_url=x_sandbox.base_url, clock=clock,
                                       oauth_client_id=APP_ID, cache=cache)
            fake_bot = _BotView(registry, session)
            maple = await connect_sandbox_account(fake_bot, x_sandbox, 1, handle="maple_guild")  # type: ignore[arg-type]
            harbor = await connect_sandbox_account(fake_bot, x_sandbox, 2, handle="harbor_club")  # type: ignore[arg-type]
            assert (await maple.client.me()).username == "maple_guild"
            sent = len(x_sandbox.requests_to("/2/users/me"))
            assert (await harbor.client.me()).username == "harbor_club"
            assert len(x_sandbox.requests_to("/2/users/me")) == sent + 1
            assert (await maple.client.me()).username == "maple_guild"  # from the cache now
            assert len(x_sandbox.requests_to("/2/users/me")) == sent + 1
            await registry.close()
        finally:
            await store.close()


class _BotView:
    """What connect_sandbox_account needs of a bot: accounts, an HTTP session and a clock."""

    def __init__(self, registry: AccountRegistry, session: aiohttp.ClientSession) -> None:
        self.accounts = registry
        self.http_session = session

    def clock(self) -> _Stamp:
        return _Stamp()


class _Stamp:
    def timestamp(self) -> float:
        return 1_800_000_000.0


async def test_status_says_how_the_account_serves_the_server(
    bot: LikesBot, emulator: DiscordEmulator, x_sandbox: XSandbox
) -> None:
    from tests.accounts_support import run_in  # noqa: PLC0415
    from tests.e2e.likes_support import assert_no_pings  # noqa: PLC0415

    configured = await run_in(emulator, emulator.guild, "likes status")
    assert configured.embed["description"].splitlines()[0].endswith("(configured in the environment)")
    # The configured account has no reads cap: no "Read today" line.
    assert "Read today" not in str(configured.embed)
    bot.accounts.oauth_client_id = APP_ID
    await connect_sandbox_account(bot, x_sandbox, emulator.guild.id, handle="orbit_makers", member_id=777)
    connected = await run_in(emulator, emulator.guild, "likes status")
    first = connected.embed["description"].splitlines()[0]
    assert "[@orbit\\_makers](https://x.com/orbit_makers)" in first
    assert "(connected by <@777> <t:" in first and first.endswith(":R>)")
    assert_no_pings(connected)


async def test_the_sandbox_account_says_sandbox(emulator: DiscordEmulator, tmp_path: Path) -> None:
    from tests.accounts_support import run_in  # noqa: PLC0415

    settings = emulator_settings(emulator, "https://api.x.invalid", tmp_path / "likelens.db", sandbox=True)
    async with running_bot(emulator, settings):
        status = await run_in(emulator, emulator.guild, "likes status")
        assert status.embed["description"].splitlines()[0].endswith("(sandbox)")


def test_every_connection_has_its_own_token_identity_even_without_a_refresh_token() -> None:
    # The shared cache keys answers by token identity: two connections must never share one, whether
    # X gave them a refresh token or not (without offline.access), or they are the same X account.
    from accounts.registry import AccountAuth  # noqa: PLC0415
    from store.connected_accounts import ConnectedAccount  # noqa: PLC0415

    def auth(guild_id: int, user_id: str) -> AccountAuth:
        row = ConnectedAccount(guild_id, user_id, "h", "H", ("tweet.read",), 1, 1.0, access_token="a")
        return AccountAuth(APP_ID, None, row, on_rotate=_nothing, on_refused=_nothing, clock=lambda: 0.0)

    identities = {auth(1, "10").identity, auth(2, "20").identity, auth(3, "10").identity}
    assert len(identities) == 3


async def _nothing(*_: object) -> None:
    return None
