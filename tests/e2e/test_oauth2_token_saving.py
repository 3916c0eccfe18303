"""X rotates the OAuth 2.0 refresh token at every refresh and spends the old one: when the bot
cannot save the new one (its database locked), it says so once, shows it in /likes status, keeps
retrying, and after the save a restart reads X with the saved token."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from accounts.configured import OAUTH2_TOKEN_NAME
from store.oauth_tokens import current_refresh_token
from tests.accounts.test_tokens_at_rest_bot import oauth2_settings
from tests.botharness import InteractionDriver, running_bot
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

NOT_SAVED = "The new X refresh token is not saved yet (database is locked): retrying…"


@pytest.mark.sqlite_only  # SQLite's whole-file lock (BEGIN EXCLUSIVE from another connection)
async def test_a_rotation_while_the_database_is_locked_is_saved_once_released_and_survives_a_restart(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "likelens.db"
    settings = oauth2_settings(emulator, x_sandbox, path)
    driver = InteractionDriver(emulator)
    async with running_bot(emulator, settings) as bot:
        assert (await bot.x.me()).username == sandbox.OWNER_USERNAME
        locker = sqlite3.connect(path, isolation_level=None)
        try:
            locker.execute("BEGIN EXCLUSIVE")
            x_sandbox.revoke_tokens()  # the next call gets 401 and refreshes: X rotates the token
            with caplog.at_level(logging.WARNING, logger="likelens"):
                assert (await bot.x.liking_users(sandbox.POST_7_LIKES)).items
            lines = [r.getMessage() for r in caplog.records if "refresh token" in r.getMessage()]
            assert len(lines) == 1 and "could not be saved (database is locked)" in lines[0], lines
            assert "sandbox-refresh-token" not in caplog.text
            status = await driver.slash("likes status")
            assert NOT_SAVED in status.embed["description"]
        finally:
            locker.rollback()
            locker.close()
        for _ in range(600):
            stored = await current_refresh_token(
                bot.store.conn, OAUTH2_TOKEN_NAME, sandbox.SANDBOX_REFRESH_TOKEN)
            if stored == x_sandbox.refresh_token:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the rotated token was never saved after the lock was released")
        status = await driver.slash("likes status")
        assert NOT_SAVED not in status.embed["description"]
    async with running_bot(emulator, settings) as restarted:
        assert (await restarted.x.me()).username == sandbox.OWNER_USERNAME
