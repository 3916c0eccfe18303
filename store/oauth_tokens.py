"""The current OAuth 2.0 refresh token, persisted because X rotates it on every refresh.

The stored token is tied to a fingerprint of the token it descends from (the one configured in the
environment): when an operator configures a new token, the stale stored chain is ignored.

Tokens are stored encrypted (accounts/token_vault.py). The vault is attached to the connection
(`attach_vault`, a weak mapping like the transaction lock) so these functions keep taking a plain
connection; a connection without one uses `secret.key` beside its database file.
`secure_stored_tokens` runs at start: it encrypts a plaintext token left by a version before
encryption, re-encrypts one read with an older key, and refuses keys that cannot decrypt.
"""

from __future__ import annotations

import hashlib
import weakref
from datetime import UTC, datetime
from pathlib import Path

from accounts.token_vault import TokenVault, TokenVaultError, load_vault
from store.engine import Database, checkpoint_wal
from store.transactions import transaction

_VAULTS: weakref.WeakKeyDictionary[Database, TokenVault] = weakref.WeakKeyDictionary()


def fingerprint(seed_token: str) -> str:
    """A one-way fingerprint of the configured token (the token itself is never stored twice)."""
    return hashlib.sha256(seed_token.encode()).hexdigest()


def attach_vault(conn: Database, vault: TokenVault) -> None:
    """Encrypt and decrypt conn's stored tokens with vault from now on."""
    _VAULTS[conn] = vault


async def _vault(conn: Database) -> TokenVault:
    vault = _VAULTS.get(conn)
    if vault is None:
        if conn.dialect != "sqlite":
            raise TokenVaultError("no LIKELENS_SECRET_KEY attached to the PostgreSQL database's tokens")
        async with conn.execute("PRAGMA database_list") as cursor:
            files = {str(row[1]): str(row[2]) for row in await cursor.fetchall()}
        if not files.get("main"):
            raise TokenVaultError("no LIKELENS_SECRET_KEY for an in-memory database's tokens")
        vault = _VAULTS[conn] = load_vault(None, Path(files["main"]))
    return vault


async def current_refresh_token(conn: Database, name: str, seed_token: str) -> str:
    """The newest refresh token descending from seed_token, or seed_token itself."""
    async with conn.execute(
        "SELECT refresh_token, encrypted FROM oauth_tokens WHERE name = ? AND seed_fingerprint = ?",
        (name, fingerprint(seed_token)),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return seed_token
    if not row[1]:
        return str(row[0])  # stored by a version before encryption; secure_stored_tokens encrypts it
    token, _ = (await _vault(conn)).decrypt(str(row[0]))
    return token


async def save_refresh_token(conn: Database, name: str, seed_token: str, token: str) -> None:
    """Persist the rotated token, encrypted (committed before the caller uses the new access token)."""
    stored = (await _vault(conn)).encrypt(token)
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO oauth_tokens (name, refresh_token, seed_fingerprint, encrypted) VALUES (?, ?, ?, 1) "
            "ON CONFLICT(name) DO UPDATE SET refresh_token = excluded.refresh_token, "
            "seed_fingerprint = excluded.seed_fingerprint, encrypted = 1, "
            "updated_at = ?",
            (name, stored, fingerprint(seed_token), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        )


async def secure_stored_tokens(conn: Database) -> int:
    """Encrypt plaintext tokens, re-encrypt those read with a later key; returns how many were rewritten.

    Raises TokenVaultError (one sentence naming LIKELENS_SECRET_KEY) when a token cannot be decrypted.
    """
    vault = await _vault(conn)
    async with conn.execute("SELECT name, refresh_token, encrypted FROM oauth_tokens") as cursor:
        rows = [(str(r[0]), str(r[1]), bool(r[2])) for r in await cursor.fetchall()]
    rewritten: list[tuple[str, str]] = []
    for name, stored, encrypted in rows:
        token, stale = vault.decrypt(stored) if encrypted else (stored, True)
        if stale:
            rewritten.append((vault.encrypt(token), name))
    if rewritten:
        async with transaction(conn):
            await conn.executemany(
                "UPDATE oauth_tokens SET refresh_token = ?, encrypted = 1 WHERE name = ?", rewritten
            )
        # The old values' pages leave the write-ahead log (secure_delete zeroes them in the file).
        await checkpoint_wal(conn)
    return len(rewritten)
