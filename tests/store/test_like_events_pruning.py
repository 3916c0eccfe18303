"""store.pruning of the live feed's recorded like events, on a real SQLite file: likes older than
like_events.KEPT_DAYS that every live digest has posted go; newer ones, and old ones a live digest has
not posted yet, stay; a live digest's run log is bounded like any digest's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from store import digests, like_events, pruning
from store.db import Store
from tests.engines import open_test_store
from xapi.models import User

DAY = 86400.0
NOW = 1_000 * DAY
OLD = NOW - (like_events.KEPT_DAYS + 1) * DAY
ACCOUNT = "111"


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_test_store(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def live_digest(store: Store, subject: str = "recent") -> digests.Digest:
    kind: digests.SubjectKind = "recent" if subject == "recent" else "post"
    return await digests.add_digest(
        store.conn, guild_id=1, channel_id=2, creator_id=3, subject_kind=kind, subject_id=subject,
        every_seconds=0, now=NOW - 100 * DAY, account_id=ACCOUNT,
    )


async def record(store: Store, liker: str, at: float) -> int:
    row = await like_events.record_like(
        store.conn, event_uuid=f"uuid-{liker}", account_id=ACCOUNT, direction="inbound", post_id="9",
        liker=User(id=liker, username=f"fan{liker}", name=f"Fan {liker}"), liked_at=at, now=at)
    assert row is not None
    return row


async def kept_likers(store: Store) -> list[str]:
    return [like.liker.id for like in await like_events.likes_after(
        store.conn, 0, account_id=ACCOUNT, direction="inbound") if like.liker]


async def prune(store: Store) -> pruning.PruneReport:
    return await pruning.prune(store.conn, now=NOW, guild_left_reason="left")


async def test_old_likes_every_live_digest_posted_go_and_newer_ones_stay(store: Store) -> None:
    digest = await live_digest(store)
    old = [await record(store, liker, OLD) for liker in ("1", "2", "3")]
    await record(store, "4", NOW - DAY)
    await like_events.set_cursor(store.conn, digest.id, await like_events.last_like_id(store.conn))
    report = await prune(store)
    assert await kept_likers(store) == ["4"]
    assert report.like_events == len(old)
    # Deduplication still holds for what is kept: the same post + liker is not recorded twice.
    assert await like_events.record_like(
        store.conn, event_uuid="other", account_id=ACCOUNT, direction="inbound", post_id="9",
        liker=User(id="4", username="fan4", name="Fan 4"), liked_at=NOW, now=NOW) is None


async def test_old_likes_a_live_digest_has_not_posted_yet_are_kept(store: Store) -> None:
    ahead, behind = await live_digest(store), await live_digest(store, subject="9")
    first = await record(store, "1", OLD)
    await record(store, "2", OLD)
    await record(store, "3", OLD)
    await like_events.set_cursor(store.conn, ahead.id, await like_events.last_like_id(store.conn))
    await like_events.set_cursor(store.conn, behind.id, first)  # it has posted only the first
    report = await prune(store)
    assert await kept_likers(store) == ["2", "3"]
    assert report.like_events == 1


async def test_a_live_digests_run_log_is_bounded_like_any_digests(store: Store) -> None:
    digest = await live_digest(store)
    for n in range(pruning.RUNS_KEPT_PER_DIGEST + 10):
        run = await digests.begin_run(store.conn, digest.id, now=NOW - DAY + n, kind="digest",
                                      item_ids=[str(n)], items_found=1, like_count=None, payload="{}")
        await digests.finish_run(store.conn, run, message_id=n + 1, now=NOW - DAY + n, next_run_at=None)
    await prune(store)
    assert len(await digests.run_log(store.conn, digest.id, limit=1000)) == pruning.RUNS_KEPT_PER_DIGEST
