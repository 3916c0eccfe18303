"""store.member_links on a real SQLite file: one link per member, one member per X account, per server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from store.db import open_database
from store.engine import Database
from store.member_links import MemberLink, MemberLinks, XAccountLinkedToAnotherMember
from tests.engines import committed_rows, open_test_store_conn, table_columns

NOW = 1_800_000_000.0
GUILD, OTHER_GUILD = 111, 999
ALICE, BOB = 1001, 1002


@pytest_asyncio.fixture
async def conn(tmp_path: Path) -> AsyncIterator[Database]:
    connection = await open_test_store_conn(tmp_path)
    try:
        yield connection
    finally:
        await connection.close()


async def test_a_link_is_found_by_member_and_by_x_id(conn: Database) -> None:
    links = MemberLinks(conn)
    assert await links.link(GUILD, ALICE, x_user_id="42", handle="alice_x", now=NOW) is None
    expected = MemberLink(GUILD, ALICE, "42", "alice_x", NOW)
    assert await links.by_member(GUILD, ALICE) == expected
    assert await links.by_x_ids(GUILD, ["42", "43", "42"]) == {"42": expected}
    assert await links.in_server(GUILD) == [expected]


async def test_links_of_one_server_are_not_seen_from_another(conn: Database) -> None:
    links = MemberLinks(conn)
    await links.link(GUILD, ALICE, x_user_id="42", handle="alice_x", now=NOW)
    assert await links.by_member(OTHER_GUILD, ALICE) is None
    assert await links.by_x_ids(OTHER_GUILD, ["42"]) == {}
    assert await links.in_server(OTHER_GUILD) == []
    # The same X account may be linked by a member of another server (each server asks its member).
    await links.link(OTHER_GUILD, BOB, x_user_id="42", handle="alice_x", now=NOW)


async def test_linking_again_replaces_the_members_link(conn: Database) -> None:
    links = MemberLinks(conn)
    await links.link(GUILD, ALICE, x_user_id="42", handle="alice_x", now=NOW)
    replaced = await links.link(GUILD, ALICE, x_user_id="77", handle="alice_new", now=NOW + 5)
    assert replaced == MemberLink(GUILD, ALICE, "42", "alice_x", NOW)
    assert await links.in_server(GUILD) == [MemberLink(GUILD, ALICE, "77", "alice_new", NOW + 5)]
    # The old X account is free again for another member.
    await links.link(GUILD, BOB, x_user_id="42", handle="alice_x", now=NOW + 6)


async def test_a_second_member_linking_the_same_x_account_is_refused_and_changes_nothing(
    conn: Database,
) -> None:
    links = MemberLinks(conn)
    await links.link(GUILD, ALICE, x_user_id="42", handle="alice_x", now=NOW)
    await links.link(GUILD, BOB, x_user_id="50", handle="bob_x", now=NOW)
    with pytest.raises(XAccountLinkedToAnotherMember) as refused:
        await links.link(GUILD, BOB, x_user_id="42", handle="alice_x", now=NOW + 1)
    assert str(refused.value) == "@alice_x is already linked to another member of this server"
    assert str(ALICE) not in str(refused.value)
    # Bob keeps his own link; Alice keeps hers.
    assert await links.by_member(GUILD, BOB) == MemberLink(GUILD, BOB, "50", "bob_x", NOW)
    assert (await links.by_x_ids(GUILD, ["42"]))["42"].member_id == ALICE


async def test_unlink_deletes_at_once(conn: Database, tmp_path: Path) -> None:
    links = MemberLinks(conn)
    await links.link(GUILD, ALICE, x_user_id="42", handle="alice_x", now=NOW)
    assert await links.unlink(GUILD, ALICE) == MemberLink(GUILD, ALICE, "42", "alice_x", NOW)
    assert await links.unlink(GUILD, ALICE) is None
    # Committed: another connection sees no row.
    assert await committed_rows(tmp_path, "SELECT COUNT(*) FROM member_links") == [(0,)]


async def test_leaving_members_and_servers_take_their_links(conn: Database) -> None:
    links = MemberLinks(conn)
    await links.link(GUILD, ALICE, x_user_id="42", handle="a", now=NOW)
    await links.link(GUILD, BOB, x_user_id="43", handle="b", now=NOW)
    await links.link(OTHER_GUILD, ALICE, x_user_id="42", handle="a", now=NOW)
    assert await links.unlink_member(GUILD, BOB) is True
    assert await links.unlink_member(GUILD, BOB) is False
    assert await links.unlink_server(GUILD) == 1
    assert await links.in_server(GUILD) == []
    assert len(await links.in_server(OTHER_GUILD)) == 1


async def test_by_x_ids_answers_for_more_ids_than_one_query_binds(conn: Database) -> None:
    links = MemberLinks(conn)
    for n in range(3):
        await links.link(GUILD, 5000 + n, x_user_id=str(1200 + n * 600), handle=f"h{n}", now=NOW)
    found = await links.by_x_ids(GUILD, [str(i) for i in range(1, 2500)])
    assert sorted(found) == ["1200", "1800", "2400"]


async def test_two_concurrent_links_of_one_x_account_on_two_connections_let_one_win(tmp_path: Path) -> None:
    path = tmp_path / "likelens.db"
    first, second = await open_database(path), await open_database(path)
    try:
        results = await asyncio.gather(
            MemberLinks(first).link(GUILD, ALICE, x_user_id="42", handle="x", now=NOW),
            MemberLinks(second).link(GUILD, BOB, x_user_id="42", handle="x", now=NOW),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, XAccountLinkedToAnotherMember)]
        assert len(refused) == 1 and results.count(None) == 1
        rows = await MemberLinks(first).in_server(GUILD)
        assert len(rows) == 1 and rows[0].x_user_id == "42"
    finally:
        await first.close()
        await second.close()


async def test_concurrent_links_on_the_bots_one_connection_let_one_win(conn: Database) -> None:
    links = MemberLinks(conn)
    results = await asyncio.gather(
        *(links.link(GUILD, 7000 + n, x_user_id="42", handle="x", now=NOW) for n in range(10)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, XAccountLinkedToAnotherMember) for r in results) == 9
    assert len(await links.in_server(GUILD)) == 1


async def test_no_token_column_exists(conn: Database) -> None:
    columns = await table_columns(conn, "member_links")
    assert columns == ["guild_id", "member_id", "x_user_id", "handle", "linked_at"]
