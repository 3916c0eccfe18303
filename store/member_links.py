"""Members' opted-in X accounts, per server: who in this server is which X account.

A row exists only because the member ran `/link` and consented on X's page (Developer Policy,
"Off-X matching"). It holds the server id, the member id, the X user id, the X handle and when
it was linked: nothing of any token (the callback revokes the member's token at once). `/unlink`
deletes the row at once; so does the member leaving the server or the bot leaving it
(`unlink_member`, `unlink_server`). No other bound: a link lasts until one of those.

One X account per member per server (PRIMARY KEY (guild_id, member_id): linking again replaces the
member's link) and one member per X account per server (UNIQUE (guild_id, x_user_id): a second
member linking the same X account gets `XAccountLinkedToAnotherMember`). The UNIQUE index decides,
inside the transaction, so two concurrent links (even on two connections) cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from store.engine import Database, IntegrityError
from store.transactions import transaction

_COLUMNS = "guild_id, member_id, x_user_id, handle, linked_at"
# SQLite allows 999 bound parameters in old builds; stay well below.
_IN_CHUNK = 500


class XAccountLinkedToAnotherMember(Exception):
    """The X account is already linked to another member of this server; nothing was changed."""

    def __init__(self, guild_id: int, x_user_id: str, handle: str) -> None:
        # Which member holds it is not said: the refused member must not learn who it is.
        super().__init__(f"@{handle} is already linked to another member of this server")
        self.guild_id = guild_id
        self.x_user_id = x_user_id
        self.handle = handle


@dataclass(frozen=True, slots=True)
class MemberLink:
    """One member's link to an X account in one server."""

    guild_id: int
    member_id: int
    x_user_id: str
    handle: str
    linked_at: float


def _link(row: tuple[object, ...]) -> MemberLink:
    return MemberLink(int(str(row[0])), int(str(row[1])), str(row[2]), str(row[3]), float(str(row[4])))


class MemberLinks:
    """Links, unlinks and looks up members' X accounts in the store's SQLite database."""

    def __init__(self, conn: Database) -> None:
        self._conn = conn

    async def link(
        self, guild_id: int, member_id: int, *, x_user_id: str, handle: str, now: float,
    ) -> MemberLink | None:
        """Link the member to the X account in this server; returns the link it replaced (None if none).

        Raises XAccountLinkedToAnotherMember when another member of the server holds that X account.
        """
        async with transaction(self._conn):
            previous = await self.by_member(guild_id, member_id)
            try:
                await self._conn.execute(
                    f"INSERT INTO member_links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (guild_id, member_id) DO UPDATE SET x_user_id = excluded.x_user_id, "
                    "handle = excluded.handle, linked_at = excluded.linked_at",
                    (guild_id, member_id, x_user_id, handle, now),
                )
            except IntegrityError as error:
                raise XAccountLinkedToAnotherMember(guild_id, x_user_id, handle) from error
        return previous

    async def unlink(self, guild_id: int, member_id: int) -> MemberLink | None:
        """Delete the member's link in this server at once; returns it (None when there was none)."""
        async with transaction(self._conn), self._conn.execute(
            f"DELETE FROM member_links WHERE guild_id = ? AND member_id = ? RETURNING {_COLUMNS}",
            (guild_id, member_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _link(row)

    async def unlink_member(self, guild_id: int, member_id: int) -> bool:
        """The member left the server: their link goes (True when there was one)."""
        return await self.unlink(guild_id, member_id) is not None

    async def unlink_server(self, guild_id: int) -> int:
        """The bot left the server: every link of it goes; returns how many."""
        async with transaction(self._conn):
            cursor = await self._conn.execute("DELETE FROM member_links WHERE guild_id = ?", (guild_id,))
        return cursor.rowcount

    async def by_member(self, guild_id: int, member_id: int) -> MemberLink | None:
        """The member's link in this server, or None."""
        async with self._conn.execute(
            f"SELECT {_COLUMNS} FROM member_links WHERE guild_id = ? AND member_id = ?",
            (guild_id, member_id),
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _link(row)

    async def by_x_ids(self, guild_id: int, x_user_ids: Iterable[str]) -> dict[str, MemberLink]:
        """The links of this server among these X user ids, by X user id (one query per 500 ids)."""
        wanted = list(dict.fromkeys(x_user_ids))
        found: dict[str, MemberLink] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT {_COLUMNS} FROM member_links WHERE guild_id = ? AND x_user_id IN ({marks})",
                (guild_id, *chunk),
            ) as cursor:
                for row in await cursor.fetchall():
                    link = _link(row)
                    found[link.x_user_id] = link
        return found

    async def in_server(self, guild_id: int) -> list[MemberLink]:
        """Every link of this server, oldest first."""
        async with self._conn.execute(
            f"SELECT {_COLUMNS} FROM member_links WHERE guild_id = ? ORDER BY linked_at, member_id",
            (guild_id,),
        ) as cursor:
            return [_link(row) for row in await cursor.fetchall()]
