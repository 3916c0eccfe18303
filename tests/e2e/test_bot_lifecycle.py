"""LikesBot's own wiring: extensions, intents, its X client and store, sandbox mode, closing."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import aiosqlite
import discord
import pytest

from accounts.configured import OAUTH2_TOKEN_NAME
from bot import SIMULATED_NOTE, LikesBot
from store.engine import SqliteDatabase
from store.oauth_tokens import current_refresh_token
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.emulator.gateway import PRIVILEGED_INTENTS
from xapi import sandbox
from xapi.sandbox import XSandbox


async def test_the_bot_asks_for_no_privileged_intent(bot: LikesBot, emulator: DiscordEmulator) -> None:
    (identify,) = emulator.identify_payloads
    assert identify["intents"] & PRIVILEGED_INTENTS == 0
    assert bot.guilds and bot.guilds[0].id == int(emulator.guild.id)


async def test_the_x_client_uses_the_configured_account(bot: LikesBot, x_sandbox: XSandbox) -> None:
    me = await bot.x.me()
    assert me.username == sandbox.OWNER_USERNAME
    assert [r.auth_kind for r in x_sandbox.requests_to("/2/users/me")] == ["oauth1"]


async def test_a_failing_extension_is_logged_and_the_others_still_load(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    extensions = ("cogs.likes", "cogs.does_not_exist", "cogs.digests")
    with caplog.at_level(logging.ERROR, logger="likelens"):
        async with running_bot(emulator, settings, extensions=extensions) as bot:
            assert set(bot.failed_extensions) == {"cogs.does_not_exist"}
            assert (await InteractionDriver(emulator).slash("digest list")).content
    assert "cogs.does_not_exist failed to load" in caplog.text


async def test_close_releases_the_session_the_store_and_the_gateway(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as bot:
        session, conn = bot.http_session, bot.store.conn
    assert session.closed
    with pytest.raises(ValueError, match="no active connection"):
        await conn.execute("SELECT 1")
    await emulator.wait_until(lambda: not emulator.sessions, what="the gateway connection to close")


async def test_sandbox_mode_runs_its_own_x_sandbox_and_marks_data_simulated(
    emulator: DiscordEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = emulator_settings(emulator, "https://api.x.com", tmp_path / "likelens.db", sandbox=True)
    with caplog.at_level(logging.WARNING, logger="likelens"):
        async with running_bot(emulator, settings) as bot:
            assert bot.simulated
            assert (await bot.x.me()).username == sandbox.OWNER_USERNAME
            embed = bot.stamp(discord.Embed(title="Likers").set_footer(text="Page 1/3"))
            assert embed.footer.text == f"Page 1/3 · {SIMULATED_NOTE}"
            assert bot.footer_text() == SIMULATED_NOTE
    assert "SANDBOX MODE" in caplog.text and "SIMULATED" in caplog.text


async def test_real_mode_footers_say_nothing_about_simulation(bot: LikesBot) -> None:
    assert not bot.simulated
    assert bot.footer_text("Page 1/3") == "Page 1/3"


async def test_the_rotated_oauth2_refresh_token_is_stored_and_used_after_a_restart(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    oauth1_off = dict.fromkeys(("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret"))
    settings = emulator_settings(
        emulator, x_sandbox.base_url, tmp_path / "likelens.db", **oauth1_off,
        x_client_id=sandbox.SANDBOX_CLIENT_ID, x_client_secret=sandbox.SANDBOX_CLIENT_SECRET,
        x_oauth2_refresh_token=sandbox.SANDBOX_REFRESH_TOKEN,
    )
    async with running_bot(emulator, settings) as bot:
        assert (await bot.x.me()).username == sandbox.OWNER_USERNAME
        stored = await current_refresh_token(bot.store.conn, OAUTH2_TOKEN_NAME, sandbox.SANDBOX_REFRESH_TOKEN)
        assert stored != sandbox.SANDBOX_REFRESH_TOKEN
    # The configured token is spent (X refuses it after rotation): only the stored one works now.
    async with running_bot(emulator, dataclasses.replace(settings)) as restarted:
        assert (await restarted.x.me()).username == sandbox.OWNER_USERNAME
    async with aiosqlite.connect(tmp_path / "likelens.db") as conn:
        now_stored = await current_refresh_token(
            SqliteDatabase(conn), OAUTH2_TOKEN_NAME, sandbox.SANDBOX_REFRESH_TOKEN)
        assert now_stored not in (stored, sandbox.SANDBOX_REFRESH_TOKEN)
