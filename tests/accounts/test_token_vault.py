"""Tokens at rest: Fernet keys from LIKELENS_SECRET_KEY or secret.key, rotation, the stored-token
migration, and what the database file holds, on real SQLite files."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from accounts.token_vault import KEY_FILE_NAME, TokenVault, TokenVaultError, load_vault
from config import ConfigError, settings_from
from store.db import MIGRATIONS, TOKENS_AT_REST_MIGRATION, Store, open_database
from store.oauth_tokens import attach_vault, current_refresh_token, save_refresh_token, secure_stored_tokens

SEED = "seed-refresh-token-0"


def database_bytes(path: Path) -> bytes:
    """The database file and its -wal and -shm companions, as the disk holds them."""
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored = load_vault(old, Path("unused.db")).encrypt("refresh-1")
    assert "refresh-1" not in stored
    both = load_vault(f"{new},{old}", Path("unused.db"))
    assert both.decrypt(stored) == ("refresh-1", True)  # True: read with a later key, re-encrypt
    again = both.encrypt("refresh-1")
    assert load_vault(new, Path("unused.db")).decrypt(again) == ("refresh-1", False)
    with pytest.raises(TokenVaultError, match="LIKELENS_SECRET_KEY"):
        load_vault(new, Path("unused.db")).decrypt(stored)


def test_without_a_configured_key_one_is_generated_beside_the_database_once(tmp_path: Path) -> None:
    database = tmp_path / "data" / "likelens.db"
    first = load_vault(None, database)
    key_file = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    written = key_file.read_bytes()
    second = load_vault(None, database)
    assert key_file.read_bytes() == written
    assert second.decrypt(first.encrypt("t")) == ("t", False)


@pytest.mark.parametrize("value", ["not-a-key", "short", f"{Fernet.generate_key().decode()},oops"])
def test_a_malformed_key_is_one_configuration_line(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from({"DISCORD_TOKEN": "t", "LIKELENS_SECRET_KEY": value}, sandbox=True)
    message = str(raised.value)
    assert message.startswith("LIKELENS_SECRET_KEY is malformed") and "\n" not in message
    assert value not in message  # the key is a secret: never echoed


def test_a_malformed_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("garbage")
    with pytest.raises(TokenVaultError, match=KEY_FILE_NAME):
        load_vault(None, tmp_path / "likelens.db")


async def test_saved_tokens_are_ciphertext_in_the_file_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    store = await Store.open(path)
    try:
        attach_vault(store.conn, load_vault(Fernet.generate_key().decode(), path))
        await save_refresh_token(store.conn, "x", SEED, "rotated-secret-1")
        await save_refresh_token(store.conn, "x", SEED, "rotated-secret-2")
        assert await current_refresh_token(store.conn, "x", SEED) == "rotated-secret-2"
    finally:
        await store.close()
    assert b"rotated-secret" not in database_bytes(path)


async def test_a_plaintext_token_of_the_previous_version_is_encrypted_at_start(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    conn = await open_database(path, MIGRATIONS[:MIGRATIONS.index(TOKENS_AT_REST_MIGRATION)])
    await conn.close()
    with sqlite3.connect(path) as old:
        old.execute("INSERT INTO oauth_tokens (name, refresh_token, seed_fingerprint) "
                    "VALUES ('x', 'plaintext-refresh-token', 'f')")
    assert b"plaintext-refresh-token" in database_bytes(path)
    store = await Store.open(path)
    try:
        vault = load_vault(None, path)
        attach_vault(store.conn, vault)
        assert await secure_stored_tokens(store.conn) == 1
        async with store.conn.execute("SELECT refresh_token FROM oauth_tokens") as cursor:
            (stored,) = await cursor.fetchone() or ("",)
        assert vault.decrypt(str(stored)) == ("plaintext-refresh-token", False)
        assert await secure_stored_tokens(store.conn) == 0
    finally:
        await store.close()
    assert b"plaintext-refresh-token" not in database_bytes(path)


async def test_rotating_keys_reencrypts_the_stored_token_with_the_first(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store = await Store.open(path)
    try:
        attach_vault(store.conn, load_vault(old, path))
        await save_refresh_token(store.conn, "x", SEED, "rotated-secret-1")
        attach_vault(store.conn, load_vault(f"{new},{old}", path))
        assert await secure_stored_tokens(store.conn) == 1
        attach_vault(store.conn, load_vault(new, path))
        assert await current_refresh_token(store.conn, "x", SEED) == "rotated-secret-1"
    finally:
        await store.close()


async def test_a_wrong_key_for_the_stored_token_is_refused_with_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    store = await Store.open(path)
    try:
        attach_vault(store.conn, load_vault(Fernet.generate_key().decode(), path))
        await save_refresh_token(store.conn, "x", SEED, "rotated-secret-1")
        attach_vault(store.conn, TokenVault.from_keys([Fernet.generate_key()]))
        with pytest.raises(TokenVaultError) as raised:
            await secure_stored_tokens(store.conn)
        assert "LIKELENS_SECRET_KEY" in str(raised.value) and "\n" not in str(raised.value)
    finally:
        await store.close()
