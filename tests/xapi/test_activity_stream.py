"""xapi.activity_stream against the real sandbox over HTTP: keep-alives, events in order, outbound
likes, missing includes, drops with backfill and dedupe, gaps beyond 5 minutes (also after a
restart), stalls, malformed and cut lines, a refused bearer, the backoff and X's 429 reset."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.xapi.support import SettableClock, oauth1
from xapi import errors
from xapi.activity import ActivityClient
from xapi.activity_stream import ActivityStream
from xapi.auth import BearerAuth
from xapi.models import LikeEvent, StreamGap
from xapi.sandbox import (
    OWNER_ID,
    POST_7_LIKES,
    POST_NO_LIKES,
    SANDBOX_BEARER_TOKEN,
    XSandbox,
)

WAIT = 20.0
TAG = "likelens:test"


def activity(session: aiohttp.ClientSession, sandbox: XSandbox) -> ActivityClient:
    return ActivityClient(session, base_url=sandbox.base_url, bearer=BearerAuth(SANDBOX_BEARER_TOKEN))


def fast_stream(client: ActivityClient, **options: object) -> ActivityStream:
    defaults: dict[str, object] = {"backoff_first": 0.01, "backoff_cap": 0.05, "stall_seconds": 5.0}
    return client.stream(**(defaults | options))


@contextlib.asynccontextmanager
async def reading(stream: ActivityStream) -> AsyncIterator[asyncio.Queue[LikeEvent | StreamGap]]:
    """Read `stream` in a task into a queue; closed at exit."""
    queue: asyncio.Queue[LikeEvent | StreamGap] = asyncio.Queue()

    async def pump() -> None:
        async for item in stream:
            queue.put_nowait(item)

    task = asyncio.ensure_future(pump())
    try:
        async with asyncio.timeout(WAIT):
            await stream.connected.wait()
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await stream.aclose()


async def take(queue: asyncio.Queue[LikeEvent | StreamGap], n: int) -> list[LikeEvent | StreamGap]:
    async with asyncio.timeout(WAIT):
        return [await queue.get() for _ in range(n)]


async def until(condition: Callable[[], bool]) -> None:
    # The reader's counters have no event to wait on: poll them, within a generous bound.
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def subscribed(session: aiohttp.ClientSession, sandbox: XSandbox) -> ActivityClient:
    client = activity(session, sandbox)
    await client.create_subscription(oauth1(), OWNER_ID, "inbound", TAG)
    return client


async def test_events_for_added_likers_arrive_in_order_with_the_liker(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    sandbox.streams.keepalive_seconds = 0.02
    stream = fast_stream(client)
    async with reading(stream) as queue:
        await until(lambda: stream.stats.keepalives >= 3)
        added = sandbox.add_likers(POST_7_LIKES, 3)
        events = await take(queue, 3)
    assert all(isinstance(e, LikeEvent) for e in events)
    likes = [e for e in events if isinstance(e, LikeEvent)]
    # add_likers answers newest first; the stream delivers in like order.
    assert [e.liker.id if e.liker else None for e in likes] == list(reversed(added))
    fields = {(e.liked_post_id, e.liked_post_author_id, e.direction, e.filter_user_id, e.tag) for e in likes}
    assert fields == {(POST_7_LIKES, OWNER_ID, "inbound", OWNER_ID, TAG)}
    assert all(e.liker is not None and e.liker.username.startswith("fan_") for e in likes)
    assert len({e.event_uuid for e in likes}) == 3
    assert stream.stats.malformed_lines == 0 and stream.stats.drops == 0


async def test_an_owner_like_is_an_outbound_event_of_its_outbound_subscription(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = activity(session, sandbox)
    await client.create_subscription(oauth1(), OWNER_ID, "outbound", TAG)
    stream = fast_stream(client)
    async with reading(stream) as queue:
        liked = sandbox.add_liked_posts(1)
        sandbox.add_likers(POST_NO_LIKES, 1)  # inbound: nobody subscribed, so no event
        liked_again = sandbox.add_liked_posts(1)
        events = await take(queue, 2)
    seen = [(e.liked_post_id, e.direction, e.liker.id if e.liker else None) for e in events
            if isinstance(e, LikeEvent)]
    assert seen == [(liked[0], "outbound", OWNER_ID), (liked_again[0], "outbound", OWNER_ID)]


async def test_events_without_includes_have_no_liker(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    sandbox.omit_includes = True
    stream = fast_stream(client)
    async with reading(stream) as queue:
        sandbox.add_likers(POST_7_LIKES, 1)
        [event] = await take(queue, 1)
    assert isinstance(event, LikeEvent)
    assert event.liker is None and event.liked_post_id == POST_7_LIKES


async def test_a_drop_reconnects_with_backfill_and_loses_or_repeats_nothing(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    stream = fast_stream(client)
    async with reading(stream) as queue:
        before = sandbox.add_likers(POST_7_LIKES, 2)
        first = await take(queue, 2)
        sandbox.streams.streams_down = True
        sandbox.drop_streams()
        await until(lambda: stream.stats.drops >= 2)  # the drop, then at least one refused reconnect
        during = sandbox.add_likers(POST_7_LIKES, 3)
        sandbox.streams.streams_down = False
        rest = await take(queue, 3)
        after = sandbox.add_likers(POST_7_LIKES, 1)
        last = await take(queue, 1)
    likers = [e.liker.id for e in first + rest + last if isinstance(e, LikeEvent) and e.liker]
    assert likers == [*reversed(before), *reversed(during), *after]
    # The backfill replayed the two events seen before the drop; the reader dropped them as seen.
    assert stream.stats.backfills[0] == 0 and stream.stats.backfills[-1] >= 1
    assert stream.stats.duplicates == 2
    assert queue.empty()


async def test_an_outage_longer_than_five_minutes_is_reported_as_a_gap(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    clock = SettableClock()
    sandbox.clock = clock
    client = await subscribed(session, sandbox)
    stream = fast_stream(client, clock=clock)
    async with reading(stream) as queue:
        sandbox.streams.streams_down = True
        sandbox.drop_streams()
        down_at = clock.now
        await until(lambda: stream.stats.drops >= 2)
        lost = sandbox.add_likers(POST_7_LIKES, 1)  # 8 minutes before the reconnect: beyond backfill
        clock.advance(6 * 60)
        kept = sandbox.add_likers(POST_7_LIKES, 1)  # 2 minutes before the reconnect: backfilled
        clock.advance(2 * 60)
        sandbox.streams.streams_down = False
        gap, event = await take(queue, 2)
    assert isinstance(gap, StreamGap)
    assert gap.start.timestamp() == pytest.approx(down_at, abs=1)
    assert gap.end.timestamp() == pytest.approx(clock.now - 5 * 60, abs=1)
    assert isinstance(event, LikeEvent) and event.liker is not None and event.liker.id == kept[0]
    assert lost[0] != kept[0] and stream.stats.backfills[-1] == 5 and stream.stats.gaps == 1


async def test_a_stall_counts_as_a_drop_and_the_backfill_brings_what_it_held_back(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    sandbox.streams.keepalive_seconds = 0.02
    stream = fast_stream(client, stall_seconds=0.3)
    async with reading(stream) as queue:
        sandbox.stall_streams()
        held = sandbox.add_likers(POST_7_LIKES, 2)
        events = await take(queue, 2)
    assert stream.stats.stalls >= 1 and stream.stats.connects >= 2
    assert [e.liker.id for e in events if isinstance(e, LikeEvent) and e.liker] == list(reversed(held))


async def test_a_malformed_line_is_skipped_and_counted(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    stream = fast_stream(client)
    async with reading(stream) as queue:
        sandbox.streams.inject_line('{"data": {"event_type": "like.create"')
        sandbox.streams.inject_line('{"data": {"event_type": "like.create", "payload": {}}}')
        sandbox.streams.inject_line('{"data": {"event_type": "follow.follow", "payload": {}}}')
        added = sandbox.add_likers(POST_7_LIKES, 1)
        [event] = await take(queue, 1)
    assert isinstance(event, LikeEvent) and event.liker is not None and event.liker.id == added[0]
    assert stream.stats.malformed_lines == 2 and stream.stats.other_lines == 1
    assert stream.stats.drops == 0


async def test_a_refused_bearer_is_raised_not_retried(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    stream = ActivityStream(session, BearerAuth("not-the-bearer"), base_url=sandbox.base_url,
                            backoff_first=0.01, backoff_cap=0.05)
    with pytest.raises(errors.Unauthorized) as refused:
        await anext(stream)
    assert "not-the-bearer" not in str(refused.value)
    assert len(sandbox.requests_to("/2/activity/stream")) == 1


async def test_a_stream_that_reconnects_at_once_does_not_back_off_longer_each_drop(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    stream = fast_stream(client, backoff_first=0.01, backoff_cap=10.0)
    async with reading(stream):
        for drops in range(1, 5):
            sandbox.drop_streams()
            await until(lambda: stream.stats.connects > drops)  # noqa: B023 (awaited at once)
    # Each reconnect succeeded, so each wait is the first step of the backoff, not a growing one.
    assert len(stream.stats.retry_delays) == 4
    assert all(delay <= 0.01 for delay in stream.stats.retry_delays)


async def test_a_429_on_reconnect_waits_for_xs_reset_instead_of_hammering(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    sandbox.rate_limits["activity_stream"] = 1
    client = await subscribed(session, sandbox)
    stream = fast_stream(client)
    async with reading(stream):
        sandbox.drop_streams()
        await until(lambda: len(stream.stats.retry_delays) >= 2)
        assert [r.status for r in sandbox.requests_to("/2/activity/stream")] == [200, 429]
    # The wait after the 429 runs to X's x-rate-limit-reset (the window is 15 minutes), not 0.05 s.
    assert stream.stats.retry_delays[-1] > 60


@pytest.mark.parametrize(("down_minutes", "backfill", "gap"), [(3, 4, False), (10, 5, True)])
async def test_after_a_restart_the_first_connection_backfills_from_resume_from(
    sandbox: XSandbox, session: aiohttp.ClientSession, down_minutes: int, backfill: int, gap: bool,
) -> None:
    clock = SettableClock()
    sandbox.clock = clock
    client = await subscribed(session, sandbox)
    last_alive = clock.now
    missed = sandbox.add_likers(POST_7_LIKES, 1)  # while the bot was down, just after it was last alive
    clock.advance(down_minutes * 60 - 30)
    recent = sandbox.add_likers(POST_7_LIKES, 1)  # 30 s before the restart
    clock.advance(30)
    stream = fast_stream(client, clock=clock, resume_from=datetime.fromtimestamp(last_alive, UTC))
    async with reading(stream) as queue:
        items = await take(queue, 2)
    # The outage plus a 15 s margin, in whole minutes, at most X's 5.
    assert stream.stats.backfills[0] == backfill
    if gap:
        first, event = items
        assert isinstance(first, StreamGap) and first.start.timestamp() == pytest.approx(last_alive, abs=1)
        assert isinstance(event, LikeEvent) and event.liker is not None and event.liker.id == recent[0]
    else:
        likers = [e.liker.id for e in items if isinstance(e, LikeEvent) and e.liker]
        assert likers == [missed[0], recent[0]]


async def test_a_line_cut_by_a_drop_is_counted_and_not_glued_to_the_next_connection(
    sandbox: XSandbox, session: aiohttp.ClientSession,
) -> None:
    client = await subscribed(session, sandbox)
    stream = fast_stream(client)
    async with reading(stream) as queue:
        read_before = stream.stats.bytes_read
        sandbox.streams.inject_line('{"data": {"event_type": "like.cre', end="")
        await until(lambda: stream.stats.bytes_read > read_before)
        sandbox.drop_streams()
        await until(lambda: stream.stats.connects >= 2)
        added = sandbox.add_likers(POST_7_LIKES, 1)
        [event] = await take(queue, 1)
    assert isinstance(event, LikeEvent) and event.liker is not None and event.liker.id == added[0]
    assert stream.stats.malformed_lines == 1
