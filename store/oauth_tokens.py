"""The current OAuth 2.0 refresh token, persisted because X rotates it on every refresh.

The stored token is tied to a fingerprint of the token it descends from (the one configured in the
environment): when an operator configures a new token, the stale stored chain is ignored.
"""

from __future__ import annotations

import hashlib

import aiosqlite

from store.transactions import transaction


def fingerprint(seed_token: str) -> str:
    """A one-way fingerprint of the configured token (the token itself is never stored twice)."""
    return hashlib.sha256(seed_token.encode()).hexdigest()


async def current_refresh_token(conn: aiosqlite.Connection, name: str, seed_token: str) -> str:
    """The newest refresh token descending from seed_token, or seed_token itself."""
    async with conn.execute(
        "SELECT refresh_token FROM oauth_tokens WHERE name = ? AND seed_fingerprint = ?",
        (name, fingerprint(seed_token)),
    ) as cursor:
        row = await cursor.fetchone()
    return seed_token if row is None else str(row[0])


async def save_refresh_token(conn: aiosqlite.Connection, name: str, seed_token: str, token: str) -> None:
    """Persist the rotated token (committed before the caller uses the new access token)."""
    async with transaction(conn):
        await conn.execute(
            "INSERT INTO oauth_tokens (name, refresh_token, seed_fingerprint) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET refresh_token = excluded.refresh_token, "
            "seed_fingerprint = excluded.seed_fingerprint, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            (name, token, fingerprint(seed_token)),
        )
