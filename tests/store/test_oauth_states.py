"""store.oauth_states against a real SQLite file: expiry, single use, unknown states, encryption hooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store.db import open_database
from store.engine import Database
from store.oauth_states import STATE_LIFETIME_SECONDS, OAuthStates, PendingAuthorization
from tests.engines import open_test_store_conn

NOW = 1_800_000_000.0
VERIFIER = "verifier-" + "v" * 60
STATE = "state-" + "s" * 40


@pytest_asyncio.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_test_store_conn(tmp_path)
    try:
        yield connection
    finally:
        await connection.close()


def _database_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith("likelens.db"))


async def _save(states: OAuthStates, state: str = STATE, *, now: float = NOW) -> PendingAuthorization:
    return await states.save(
        state, purpose="connect", guild_id=111, member_id=222, code_verifier=VERIFIER, now=now,
        interaction_token="interaction-token-xyz",
    )


async def test_a_saved_state_is_consumed_once_with_everything_it_was_saved_with(
    conn: Database,
) -> None:
    states = OAuthStates(conn)
    saved = await _save(states)
    assert saved.expires_at == NOW + STATE_LIFETIME_SECONDS == NOW + 600

    found = await states.consume(STATE, now=NOW + 5)
    assert found == saved
    assert (found.purpose, found.guild_id, found.member_id) == ("connect", 111, 222)
    assert found.code_verifier == VERIFIER and found.interaction_token == "interaction-token-xyz"
    # A replayed state finds nothing.
    assert await states.consume(STATE, now=NOW + 6) is None


async def test_an_unknown_state_finds_nothing_and_leaves_the_others(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states)
    assert await states.consume("forged-" + "f" * 40, now=NOW) is None
    assert await states.consume("", now=NOW) is None
    assert await states.consume(STATE, now=NOW) is not None


async def test_an_expired_state_finds_nothing_and_is_gone(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states)
    assert await states.consume(STATE, now=NOW + STATE_LIFETIME_SECONDS + 1) is None
    # Not even a clock going back brings it back: the expired consume deleted it.
    assert await states.consume(STATE, now=NOW) is None


async def test_a_state_is_still_good_just_before_its_expiry(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states)
    assert await states.consume(STATE, now=NOW + STATE_LIFETIME_SECONDS - 0.001) is not None


async def test_two_concurrent_consumes_on_two_connections_get_it_once(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    first, second = await open_database(path), await open_database(path)
    try:
        for round_number in range(20):
            state = f"race-{round_number}-" + "r" * 40
            await _save(OAuthStates(first), state)
            results = await asyncio.gather(
                OAuthStates(first).consume(state, now=NOW), OAuthStates(second).consume(state, now=NOW),
            )
            assert sum(result is not None for result in results) == 1, results
    finally:
        await first.close()
        await second.close()


async def test_two_concurrent_consumes_on_one_connection_get_it_once(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states)
    results = await asyncio.gather(*(states.consume(STATE, now=NOW) for _ in range(5)))
    assert sum(result is not None for result in results) == 1


async def test_prune_deletes_only_expired_states(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states, "old-" + "o" * 40, now=NOW)
    await _save(states, "new-" + "n" * 40, now=NOW + 300)
    later = NOW + STATE_LIFETIME_SECONDS + 1
    assert await states.prune(now=later) == 1
    assert await states.consume("old-" + "o" * 40, now=NOW) is None
    assert await states.consume("new-" + "n" * 40, now=later) is not None


async def test_the_file_holds_neither_the_state_nor_the_verifier_when_a_cipher_is_plugged_in(
    tmp_path: Path,
) -> None:
    path = tmp_path / "likelens.db"
    connection = await open_database(path)

    def encrypt(text: str) -> str:
        return text[::-1].upper() + "!"

    def decrypt(text: str) -> str:
        return text.removesuffix("!").lower()[::-1]

    try:
        states = OAuthStates(connection, encrypt=encrypt, decrypt=decrypt)
        await _save(states)
        await connection.execute("PRAGMA wal_checkpoint(FULL)")
        raw = await asyncio.to_thread(_database_bytes, tmp_path)
        assert VERIFIER.encode() not in raw
        assert STATE.encode() not in raw
        assert b"interaction-token-xyz" not in raw
        found = await states.consume(STATE, now=NOW)
        assert found is not None and found.code_verifier == VERIFIER
        assert found.interaction_token == "interaction-token-xyz"
    finally:
        await connection.close()


async def test_a_verifier_that_no_longer_decrypts_finds_nothing(conn: Database) -> None:
    await _save(OAuthStates(conn))

    def broken(text: str) -> str:
        raise ValueError("unknown key")

    assert await OAuthStates(conn, decrypt=broken).consume(STATE, now=NOW) is None


async def test_an_unknown_purpose_is_refused(conn: Database) -> None:
    with pytest.raises(ValueError, match="purpose"):
        await OAuthStates(conn).save(
            STATE, purpose="steal", guild_id=1, member_id=2, code_verifier=VERIFIER, now=NOW,  # type: ignore[arg-type]
        )


def test_the_record_repr_shows_no_secret() -> None:
    record = PendingAuthorization("connect", 1, 2, VERIFIER, NOW, NOW + 600, "interaction-token-xyz")
    assert VERIFIER not in repr(record) and "interaction-token-xyz" not in repr(record)


async def test_saving_a_state_forgets_the_expired_ones(conn: Database) -> None:
    states = OAuthStates(conn)
    await _save(states, "old-" + "o" * 40, now=NOW - STATE_LIFETIME_SECONDS - 1)
    await _save(states, "new-" + "n" * 40, now=NOW)
    async with conn.execute("SELECT COUNT(*) FROM oauth_states") as cursor:
        assert await cursor.fetchone() == (1,)
