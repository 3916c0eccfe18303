"""What /x connect and /x disconnect do to a server's account over time, end to end in Chromium:
disconnect with revoke, a reconnect replacing the account, refresh rotation across a restart, no
X_CLIENT_ID, no X credentials at all, and `--sandbox` connecting with nothing but a Discord token.
"""

from __future__ import annotations

import asyncio
import dataclasses
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from cogs.x import NO_CLIENT
from store import digests as digest_store
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.web.connect_support import CLIENT_ID, connect_bot, connect_in_browser, consent, link_url
from xapi.sandbox import COMMUNITY_HARBOR, COMMUNITY_MAPLE, XSandbox

if TYPE_CHECKING:
    from playwright.async_api import Page

    from bot import LikesBot


async def add_digest(bot: LikesBot, emulator: DiscordEmulator, post_id: str) -> int:
    digest = await digest_store.add_digest(
        bot.store.conn, guild_id=int(emulator.guild.id), channel_id=int(emulator.channel("general").id),
        creator_id=1, subject_kind="post", subject_id=post_id, every_seconds=86400,
        now=bot.clock().timestamp() + 3600,
    )
    return digest.id


def refresh_token_of(bot: LikesBot, emulator: DiscordEmulator) -> str:
    serving = bot.accounts.serving(int(emulator.guild.id))
    assert serving is not None and serving.how == "connected"
    token = serving.refresh_token()
    assert token is not None
    return token


async def test_disconnect_revokes_at_x_forgets_the_tokens_and_pauses_the_digests(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        driver = InteractionDriver(emulator)
        await connect_in_browser(driver, browser_page)
        token = refresh_token_of(bot, emulator)
        serving = bot.accounts.serving(int(emulator.guild.id))
        access = serving.access_token() if serving is not None else None
        assert access is not None and x_sandbox.oauth2.is_live(access)
        digest_id = await add_digest(bot, emulator, COMMUNITY_MAPLE.post_ids[0])
        result = await driver.slash("x disconnect")
        assert result.ephemeral and result.content == (
            "Disconnected @maple\\_guild from this server and revoked LikeLens' access at X; "
            "1 digest was paused.")
        assert bot.accounts.serving(int(emulator.guild.id)) is None or (
            bot.accounts.serving(int(emulator.guild.id)).how != "connected")  # type: ignore[union-attr]
        # X refuses the revoked refresh token from now on.
        assert [r.status for r in x_sandbox.requests_to("/2/oauth2/revoke")] == [200, 200]
        assert x_sandbox.oauth2.refresh(token, CLIENT_ID) is None
        # The access token too: it would otherwise read the account's likes for up to two more hours.
        assert not x_sandbox.oauth2.is_live(access)
        digest = await digest_store.get_digest(bot.store.conn, digest_id)
        assert digest is not None and (digest.state, digest.reason) == (
            "paused", "the server's X account @maple_guild was disconnected")
        again = await driver.slash("x disconnect")
        assert again.content == "No X account is connected to this server, so nothing changed."


async def test_connecting_another_account_replaces_it_revokes_the_old_token_and_pauses_digests(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        driver = InteractionDriver(emulator)
        await connect_in_browser(driver, browser_page)
        old_token = refresh_token_of(bot, emulator)
        old = bot.accounts.serving(int(emulator.guild.id))
        old_access = old.access_token() if old is not None else None
        assert old_access is not None
        digest_id = await add_digest(bot, emulator, COMMUNITY_MAPLE.post_ids[0])
        result, page = await connect_in_browser(driver, browser_page, handle="harbor_club")
        assert page.sentence == f"Connected @harbor_club to {emulator.guild.name}. You can close this tab."
        assert result.content == (
            "Connected @harbor\\_club to this server. It replaces @maple\\_guild, and 1 digest was paused; "
            "resume them with /digest resume.")
        serving = bot.accounts.serving(int(emulator.guild.id))
        assert serving is not None and serving.x_user_id == COMMUNITY_HARBOR.id
        assert x_sandbox.oauth2.refresh(old_token, CLIENT_ID) is None
        assert not x_sandbox.oauth2.is_live(old_access)
        digest = await digest_store.get_digest(bot.store.conn, digest_id)
        assert digest is not None and (digest.state, digest.reason) == (
            "paused", "the server's X account changed to @harbor_club")


async def test_a_connected_account_refreshes_across_a_restart_on_the_same_database(
    emulator: DiscordEmulator, tmp_path: Path, browser_page: Page,
) -> None:
    database = tmp_path / "likelens.db"
    # Access tokens that live one second: every start after a pause must refresh.
    async with XSandbox(access_token_lifetime=1) as sandbox:
        async with connect_bot(emulator, sandbox, database):
            await connect_in_browser(InteractionDriver(emulator), browser_page)
        for restart in (1, 2):
            await asyncio.sleep(1.1)
            async with connect_bot(emulator, sandbox, database) as bot:
                serving = bot.accounts.serving(int(emulator.guild.id))
                assert serving is not None and serving.handle == "maple_guild"
                likers = await serving.client.liking_users(COMMUNITY_MAPLE.post_ids[1])
                assert len(likers.items) == 3
                # Each start used the token the previous one stored (X refuses a used one).
                assert sandbox.oauth2.refreshes == restart


async def test_without_x_client_id_connect_names_the_variable_the_operator_must_set(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings):
        result = await InteractionDriver(emulator).slash("x connect")
        assert result.ephemeral and result.content == NO_CLIENT
        assert "X_CLIENT_ID" in result.content and result.response.components == []


async def test_with_no_x_credentials_the_bot_starts_and_x_connect_is_open_to_the_unserved_server(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    bare = {"x_api_key": None, "x_api_secret": None, "x_access_token": None, "x_access_token_secret": None}
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db", **bare) as bot:
        assert not bot.settings.has_configured_account
        driver = InteractionDriver(emulator)
        refused = await driver.slash("likes status")
        assert "/x connect" in refused.content
        _result, page = await connect_in_browser(driver, browser_page)
        assert page.heading == "Connected"
        assert bot.account_serves(int(emulator.guild.id))


async def test_sandbox_mode_connects_a_simulated_account_with_only_a_discord_token(
    emulator: DiscordEmulator, tmp_path: Path, browser_page: Page,
) -> None:
    # What `python bot.py --sandbox` builds, with a free port instead of 8080.
    settings = dataclasses.replace(
        emulator_settings(emulator, "http://unused.invalid", tmp_path / "likelens.db"),
        x_api_key=None, x_api_secret=None, x_access_token=None, x_access_token_secret=None,
        x_bearer_token=None, x_api_base_url="https://api.x.com", sandbox=True,
    )
    async with running_bot(emulator, settings) as bot:
        result = await InteractionDriver(emulator).slash("x connect")
        url = link_url(result.response)
        assert url.startswith(bot.x_base_url + "/i/oauth2/authorize?")
        page = await consent(browser_page, url, handle="orbit_makers")
        assert page.sentence == f"Connected @orbit_makers to {emulator.guild.name}. You can close this tab."
        serving = bot.accounts.serving(int(emulator.guild.id))
        assert serving is not None and (serving.how, serving.handle) == ("connected", "orbit_makers")


async def test_figures_requests_per_connect_and_time_from_callback_to_stored_token(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    """Prints the closing note's figures (no timed assertion: the machine is noisy)."""
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        driver = InteractionDriver(emulator)
        cog = bot.get_cog("XAccount")
        seconds: list[float] = []
        requests: list[int] = []
        for number in range(20):
            before = len(x_sandbox.requests)
            await connect_in_browser(driver, browser_page, handle=("maple_guild", "harbor_club")[number % 2])
            # Only the bot's requests: the browser's (consent page, its form, a favicon) excluded.
            made = [r for r in list(x_sandbox.requests)[before:] if r.path.startswith("/2/")]
            requests.append(len(made))
            assert cog is not None and cog.last_connect is not None  # type: ignore[attr-defined]
            seconds.append(cog.last_connect.seconds_to_store)  # type: ignore[attr-defined]
    # The first connect: exchange + users/me; each replacement adds the old tokens' revocations
    # (refresh and access token).
    assert requests[0] == 2 and set(requests[1:]) == {4}
    median_ms = statistics.median(seconds) * 1000
    print(f"\nX requests per connect: {requests[0]} (a replacement: {requests[1]}); "
          f"callback to stored token: median {median_ms:.1f} ms of {len(seconds)}")
