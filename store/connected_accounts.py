"""The X account each server connected (`/x connect`): who it is, its tokens, whether X still accepts it.

One row per server (guild_id is the key: connecting again replaces the row). The refresh and access
tokens are stored as Fernet text through the token vault attached to the connection
(store/oauth_tokens.attach_vault), never in plaintext; every write goes through `transaction`.
A rotation or a "needs reconnect" mark names the connection it belongs to (x_user_id and
connected_at): a late write of an account the server has since replaced changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from store.engine import Database, checkpoint_wal
from store.oauth_tokens import _vault as vault_of
from store.transactions import transaction


@dataclass(frozen=True, slots=True)
class ConnectedAccount:
    """One server's connected X account as stored (tokens decrypted, kept out of repr)."""

    guild_id: int
    x_user_id: str
    handle: str
    name: str
    scopes: tuple[str, ...]
    connected_by: int
    connected_at: float
    needs_reconnect: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    access_expires_at: float | None = None


_COLUMNS = (
    "guild_id, x_user_id, handle, name, scopes, connected_by, connected_at, needs_reconnect, "
    "refresh_token, access_token, access_expires_at"
)
# Every column but the key, set to the new row's (what INSERT OR REPLACE did, on both engines).
_REPLACE_ALL = ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in _COLUMNS.split(",")[1:])


async def _decrypt(conn: Database, stored: object) -> str | None:
    if stored is None:
        return None
    token, _ = (await vault_of(conn)).decrypt(str(stored))
    return token


async def _encrypt(conn: Database, token: str | None) -> str | None:
    return None if token is None else (await vault_of(conn)).encrypt(token)


async def _row_to_account(conn: Database, row: Sequence[Any]) -> ConnectedAccount:
    return ConnectedAccount(
        guild_id=int(row[0]), x_user_id=str(row[1]), handle=str(row[2]), name=str(row[3]),
        scopes=tuple(str(row[4]).split()), connected_by=int(row[5]),
        connected_at=float(row[6]), needs_reconnect=None if row[7] is None else str(row[7]),
        refresh_token=await _decrypt(conn, row[8]), access_token=await _decrypt(conn, row[9]),
        access_expires_at=None if row[10] is None else float(row[10]),
    )


async def get_connected_account(conn: Database, guild_id: int) -> ConnectedAccount | None:
    """The account guild_id connected, or None."""
    query = f"SELECT {_COLUMNS} FROM connected_accounts WHERE guild_id = ?"
    async with conn.execute(query, (guild_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else await _row_to_account(conn, row)


async def all_connected_accounts(conn: Database) -> list[ConnectedAccount]:
    """Every server's connected account, by server id."""
    async with conn.execute(f"SELECT {_COLUMNS} FROM connected_accounts ORDER BY guild_id") as cur:
        rows = await cur.fetchall()
    return [await _row_to_account(conn, row) for row in rows]


async def save_connected_account(
    conn: Database, account: ConnectedAccount,
) -> ConnectedAccount | None:
    """Store account as its server's connection (tokens encrypted); returns the one it replaced."""
    refresh = await _encrypt(conn, account.refresh_token)
    access = await _encrypt(conn, account.access_token)
    async with transaction(conn):
        replaced = await get_connected_account(conn, account.guild_id)
        await conn.execute(
            f"INSERT INTO connected_accounts ({_COLUMNS}) VALUES ({', '.join('?' * 11)}) "
            f"ON CONFLICT (guild_id) DO UPDATE SET {_REPLACE_ALL}",
            (account.guild_id, account.x_user_id, account.handle, account.name, " ".join(account.scopes),
             account.connected_by, account.connected_at, account.needs_reconnect, refresh, access,
             account.access_expires_at),
        )
    return replaced


async def delete_connected_account(conn: Database, guild_id: int) -> ConnectedAccount | None:
    """Forget guild_id's connection and its tokens; returns what was stored (None: nothing)."""
    async with transaction(conn):
        gone = await get_connected_account(conn, guild_id)
        await conn.execute("DELETE FROM connected_accounts WHERE guild_id = ?", (guild_id,))
    if gone is not None and conn.dialect == "sqlite":
        # The deleted ciphertext leaves the write-ahead log too (secure_delete zeroes the file's pages).
        await checkpoint_wal(conn)
    return gone


async def save_rotated_tokens(
    conn: Database, guild_id: int, *, x_user_id: str, connected_at: float, refresh_token: str,
    access_token: str | None = None, access_expires_at: float | None = None,
) -> bool:
    """Persist X's rotated refresh token (and the new access token) of this very connection.

    False when the server's connection is another one by now (replaced or disconnected): nothing is written.
    """
    refresh = await _encrypt(conn, refresh_token)
    access = await _encrypt(conn, access_token)
    async with transaction(conn):
        cursor = await conn.execute(
            "UPDATE connected_accounts SET refresh_token = ?, access_token = ?, access_expires_at = ? "
            "WHERE guild_id = ? AND x_user_id = ? AND connected_at = ?",
            (refresh, access, access_expires_at, guild_id, x_user_id, connected_at),
        )
        changed = cursor.rowcount
    return changed > 0


async def mark_needs_reconnect(
    conn: Database, guild_id: int, *, x_user_id: str, connected_at: float, reason: str,
) -> bool:
    """Record that X no longer accepts this connection (why, in a sentence); False if it was replaced."""
    async with transaction(conn):
        cursor = await conn.execute(
            "UPDATE connected_accounts SET needs_reconnect = ?, access_token = NULL, "
            "access_expires_at = NULL "
            "WHERE guild_id = ? AND x_user_id = ? AND connected_at = ?",
            (reason, guild_id, x_user_id, connected_at),
        )
        changed = cursor.rowcount
    return changed > 0
