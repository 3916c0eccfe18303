"""A writer cancelled at any point of its transaction (a live feed stepping down cancels its tasks while
the process runs on) leaves the database usable: the next transaction begins and commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from store.meta import get_meta, set_meta
from tests.engines import open_test_store


async def test_a_writer_cancelled_while_its_transaction_begins_leaves_the_next_one_working(
    tmp_path: Path,
) -> None:
    store = await open_test_store(tmp_path)
    try:
        for turns in range(4):  # cancelled before, while and after the BEGIN is under way
            writer = asyncio.create_task(set_meta(store.conn, "cancelled", str(turns)))
            for _ in range(turns):
                await asyncio.sleep(0)
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await set_meta(store.conn, "after", str(turns))
            assert await get_meta(store.conn, "after") == str(turns)
    finally:
        await store.close()
