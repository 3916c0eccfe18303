"""Tokens at rest through the real bot: a rotation against the X sandbox leaves no token in the
database's bytes; a plaintext token of the previous version is encrypted at the first start; a
wrong LIKELENS_SECRET_KEY stops `python bot.py` with one line and exit status 2."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from accounts.configured import OAUTH2_TOKEN_NAME
from accounts.token_vault import load_vault
from config import Settings
from store.db import MIGRATIONS, TOKENS_AT_REST_MIGRATION, Store, open_database
from store.oauth_tokens import attach_vault, fingerprint, save_refresh_token
from tests.accounts.test_token_vault import database_bytes
from tests.botharness import emulator_settings, running_bot
from tests.e2e.test_process import REPO, child_env
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

TOKEN_PREFIX = b"sandbox-refresh-token"


def oauth2_settings(emulator: DiscordEmulator, x_sandbox: XSandbox, path: Path, **more: object) -> Settings:
    oauth1_off = dict.fromkeys(("x_api_key", "x_api_secret", "x_access_token", "x_access_token_secret"))
    return emulator_settings(
        emulator, x_sandbox.base_url, path, **oauth1_off, x_client_id=sandbox.SANDBOX_CLIENT_ID,
        x_client_secret=sandbox.SANDBOX_CLIENT_SECRET, x_oauth2_refresh_token=sandbox.SANDBOX_REFRESH_TOKEN,
        **more,
    )


async def test_after_rotations_through_the_sandbox_no_refresh_token_is_in_the_database_files(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "likelens.db"
    settings = oauth2_settings(emulator, x_sandbox, path, likelens_secret_key=Fernet.generate_key().decode())
    async with running_bot(emulator, settings) as bot:
        assert (await bot.x.me()).username == sandbox.OWNER_USERNAME
        rotated = x_sandbox.refresh_token
        assert rotated.encode().startswith(TOKEN_PREFIX) and rotated != sandbox.SANDBOX_REFRESH_TOKEN
        assert TOKEN_PREFIX not in database_bytes(path)  # while running: the -wal file too
    async with running_bot(emulator, settings) as restarted:
        assert (await restarted.x.me()).username == sandbox.OWNER_USERNAME  # decrypted the stored token
        assert x_sandbox.refresh_token != rotated
    assert TOKEN_PREFIX not in database_bytes(path)


async def test_a_plaintext_token_of_the_previous_version_is_encrypted_at_the_first_start(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "likelens.db"
    conn = await open_database(path, MIGRATIONS[:MIGRATIONS.index(TOKENS_AT_REST_MIGRATION)])
    await conn.close()
    # The previous version rotated once and stored the new token in plaintext.
    with sqlite3.connect(path) as old:
        old.execute(
            "INSERT INTO oauth_tokens (name, refresh_token, seed_fingerprint) VALUES (?, ?, ?)",
            (OAUTH2_TOKEN_NAME, sandbox.SANDBOX_REFRESH_TOKEN, fingerprint(sandbox.SANDBOX_REFRESH_TOKEN)),
        )
    assert TOKEN_PREFIX in database_bytes(path)
    async with running_bot(emulator, oauth2_settings(emulator, x_sandbox, path)) as bot:
        assert TOKEN_PREFIX not in database_bytes(path)
        assert (await bot.x.me()).username == sandbox.OWNER_USERNAME
    assert (tmp_path / "secret.key").exists()
    assert TOKEN_PREFIX not in database_bytes(path)


async def test_a_wrong_secret_key_stops_the_process_with_one_line_and_exit_2(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    path = tmp_path / "likelens.db"
    saved_with = Fernet.generate_key().decode()
    store = await Store.open(path)
    attach_vault(store.conn, load_vault(saved_with, path))
    await save_refresh_token(store.conn, OAUTH2_TOKEN_NAME, sandbox.SANDBOX_REFRESH_TOKEN, "rotated-earlier")
    await store.close()
    wrong = Fernet.generate_key().decode()
    env = child_env(
        emulator, DISCORD_TOKEN=emulator.token, X_CLIENT_ID=sandbox.SANDBOX_CLIENT_ID,
        X_CLIENT_SECRET=sandbox.SANDBOX_CLIENT_SECRET, X_OAUTH2_REFRESH_TOKEN=sandbox.SANDBOX_REFRESH_TOKEN,
        X_API_BASE_URL=x_sandbox.base_url, DATABASE_PATH=str(path), LIKELENS_SECRET_KEY=wrong,
        LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    assert process.returncode == 2, text
    lines = text.splitlines()
    assert len(lines) == 1 and "LIKELENS_SECRET_KEY cannot decrypt" in lines[0], lines
    assert wrong not in text and saved_with not in text
    assert x_sandbox.requests_to("/2/oauth2/token") == []  # the stored token was not spent


async def test_a_malformed_secret_key_stops_the_process_before_any_connection(
    emulator: DiscordEmulator, tmp_path: Path
) -> None:
    env = child_env(emulator, DISCORD_TOKEN=emulator.token, LIKELENS_SECRET_KEY="not-a-fernet-key")
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(REPO / "bot.py"), "--sandbox", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    lines = stderr.decode().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("LikeLens configuration error: LIKELENS_SECRET_KEY"), lines
    assert "not-a-fernet-key" not in lines[0]
    assert emulator.requests == []
