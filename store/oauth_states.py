"""OAuth 2.0 authorizations in progress: one row per `state` sent to X's consent page.

A state is single use and lives 10 minutes. The row keeps what the callback needs (purpose, server,
member, the PKCE code verifier, the interaction token to edit the ephemeral answer), so a callback
that lands on another process still finds it. The row is keyed by a SHA-256 of the state, and the
verifier and interaction token pass through `encrypt`/`decrypt` (the token vault plugs in there),
so the file holds none of them in the clear.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, get_args

from store.engine import Database
from store.transactions import transaction

log = logging.getLogger(__name__)

Purpose = Literal["connect", "link"]
STATE_LIFETIME_SECONDS = 600.0

TextCipher = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def state_key(state: str) -> str:
    """The row key of a state: a one-way hash, so the database never holds a live state."""
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """One authorization a member started and has not finished yet."""

    purpose: Purpose
    guild_id: int
    member_id: int
    code_verifier: str = field(repr=False)
    created_at: float
    expires_at: float
    interaction_token: str | None = field(default=None, repr=False)


class OAuthStates:
    """Saves, consumes (once) and prunes pending authorizations in the store's SQLite database."""

    def __init__(
        self, conn: Database, *, encrypt: TextCipher = _identity, decrypt: TextCipher = _identity,
        lifetime: float = STATE_LIFETIME_SECONDS,
    ) -> None:
        self._conn = conn
        self._encrypt = encrypt
        self._decrypt = decrypt
        self._lifetime = lifetime

    async def save(
        self, state: str, *, purpose: Purpose, guild_id: int, member_id: int, code_verifier: str,
        now: float, interaction_token: str | None = None,
    ) -> PendingAuthorization:
        """Remember an authorization started at `now` (Unix seconds) under `state`; forget expired ones."""
        if purpose not in get_args(Purpose):
            raise ValueError(f"unknown OAuth state purpose {purpose!r}: expected connect or link")
        record = PendingAuthorization(
            purpose, guild_id, member_id, code_verifier, now, now + self._lifetime, interaction_token,
        )
        # Pruning here keeps the table bounded without a scheduler (the index makes it cheap).
        async with transaction(self._conn):
            await self._conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (now,))
            await self._conn.execute(
                "INSERT INTO oauth_states (state_key, purpose, guild_id, member_id, code_verifier, "
                "interaction_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (state_key(state), purpose, guild_id, member_id, self._encrypt(code_verifier),
                 None if interaction_token is None else self._encrypt(interaction_token),
                 record.created_at, record.expires_at),
            )
        return record

    async def consume(self, state: str, *, now: float) -> PendingAuthorization | None:
        """The authorization saved under `state`, deleted in the same statement; None when unknown,
        already used or expired (an expired one is deleted too)."""
        # DELETE … RETURNING is one statement: of two concurrent consumes only one gets the row.
        async with transaction(self._conn), self._conn.execute(
            "DELETE FROM oauth_states WHERE state_key = ? RETURNING purpose, guild_id, member_id, "
            "code_verifier, interaction_token, created_at, expires_at",
            (state_key(state),),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or float(row[6]) <= now:
            return None
        try:
            verifier = self._decrypt(str(row[3]))
            interaction_token = None if row[4] is None else self._decrypt(str(row[4]))
        except Exception:
            # E.g. the key that encrypted it was removed from LIKELENS_SECRET_KEY.
            log.warning("a pending X authorization could not be decrypted; it was dropped")
            return None
        purpose: Purpose = "link" if row[0] == "link" else "connect"
        return PendingAuthorization(
            purpose, int(row[1]), int(row[2]), verifier, float(row[5]), float(row[6]), interaction_token,
        )

    async def prune(self, *, now: float) -> int:
        """Delete the authorizations expired at `now`; returns how many."""
        async with transaction(self._conn):
            cursor = await self._conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (now,))
        return cursor.rowcount
