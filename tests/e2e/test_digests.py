"""/digest end to end: the real bot on the Discord emulator, the X sandbox, SQLite, a settable clock.

Runs and subjects: baselines, new items, shared X requests, catch-up, the loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    MESSAGES,
    POST,
    SettableClock,
    add,
    posted,
    scheduler_of,
    until,
)
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

# The digest tests' shared fixtures and names (digest_support.x is the sandbox dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


async def test_baseline_then_new_likers_are_posted_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    assert "Digest #1 created" in await add(driver)
    scheduler = scheduler_of(dbot)

    await scheduler.tick()
    (baseline,) = posted(emulator)
    assert baseline.content == f"Tracking started for post {POST}: 7 likes so far. (digest #1)"
    assert not baseline.embeds

    new_ids = x.add_likers(POST, 3)
    clock.advance(hours=6)
    await scheduler.tick()
    baseline_again, digest = posted(emulator)
    assert baseline_again.id == baseline.id
    assert digest.embed["title"] == f"3 new likers: post {POST}"
    assert digest.embed["footer"]["text"] == "digest #1 · run 2"
    names = [x.world.users[i].username.replace("_", "\\_") for i in new_ids]
    for name in names:
        assert f"[@{name}](https://x.com/" in digest.embed["description"]
    request = emulator.requests_to(*MESSAGES)[-1]
    assert request.json["enforce_nonce"] is True and request.json["nonce"]
    assert request.json["allowed_mentions"] == {"parse": []}

    # Nothing new: nothing is posted, the run is logged.
    clock.advance(hours=6)
    report = await scheduler.tick()
    assert report.rows_read == 1
    assert len(posted(emulator)) == 2
    log = await store.run_log(dbot.store.conn, 1)
    assert [r.status for r in log] == ["nothing_new", "posted", "posted"]
    assert [r.kind for r in log[1:]] == ["digest", "baseline"]
    assert log[1].items_posted == 3 and log[1].like_count == 10


async def test_two_digests_on_one_subject_share_its_x_requests(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox
) -> None:
    await add(driver, channel="digests")
    await add(driver, channel="general")
    # /digest add read the post (is it the account's?): the tick finds it in the client's cache.
    assert len(x.requests_to(f"/tweets/{POST}")) == 1
    report = await scheduler_of(dbot).tick()
    assert {o.status for o in report.outcomes.values()} == {"baseline"}
    # A post subject's likers are one request, whoever follows it; its like_count one batched lookup.
    assert report.x_requests == 2
    assert len(x.requests_to("/liking_users")) == 1
    assert [r.query["ids"] for r in x.requests if r.path == "/2/tweets"] == [POST]
    for channel in ("digests", "general"):
        (baseline,) = emulator.messages_in(emulator.channel(channel), include_ephemeral=False)
        assert baseline.content.startswith(f"Tracking started for post {POST}: 7 likes")


async def test_the_like_counts_of_a_ticks_post_subjects_are_one_batched_lookup(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox
) -> None:
    many = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{sandbox.POST_MANY_LIKES}"
    await add(driver, channel="digests")
    await add(driver, many, channel="general")
    await add(driver, many, channel="digests")
    report = await scheduler_of(dbot).tick()
    assert {o.status for o in report.outcomes.values()} == {"baseline"}
    # Two distinct post subjects: two likers requests and one lookup of both posts' like_counts.
    assert report.x_requests == 3
    (batch,) = [r for r in x.requests if r.path == "/2/tweets"]
    assert sorted(batch.query["ids"].split(",")) == sorted([POST, sandbox.POST_MANY_LIKES])
    (baseline,) = emulator.messages_in(emulator.channel("general"), include_ephemeral=False)
    assert baseline.content.startswith(f"Tracking started for post {sandbox.POST_MANY_LIKES}: 140 likes")


async def test_a_failed_like_count_lookup_does_not_fail_the_digest(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox
) -> None:
    await add(driver, channel="digests")
    x.rate_limits["posts"] = 0
    report = await scheduler_of(dbot).tick()
    assert [o.status for o in report.outcomes.values()] == ["baseline"]
    # The like_count is unknown: the baseline counts the likers X listed, and the run log has no count.
    (baseline,) = emulator.messages_in(emulator.channel("digests"), include_ephemeral=False)
    assert baseline.content.startswith(f"Tracking started for post {POST}: 7 likers")
    (run,) = await store.run_log(dbot.store.conn, 1)
    assert run.like_count is None


async def test_a_day_of_downtime_gives_one_catch_up_run(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver, every="1h")
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    x.add_likers(POST, 4)
    clock.advance(hours=24)
    report = await scheduler.tick()
    assert report.outcomes[1].status == "posted" and report.outcomes[1].posted == 4
    # Still "now": the 23 other missed periods do not run.
    again = await scheduler.tick()
    assert again.rows_read == 0
    assert len(posted(emulator)) == 2
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.next_run_at == pytest.approx(clock.timestamp() + 3600)


async def test_digest_run_answers_with_what_was_posted(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    first = await driver.slash("digest run", digest=1)
    assert "Posted the baseline" in first.content
    x.add_likers(POST, 2)
    # Seconds later, within the X client's one-minute cache: a manual run reads X afresh.
    second = await driver.slash("digest run", digest=1)
    assert "Posted 2 new likers" in second.content
    third = await driver.slash("digest run", digest=1)
    assert "Nothing new" in third.content
    assert len(posted(emulator)) == 2
    x.add_likers(POST, 1)
    fourth = await driver.slash("digest run", digest=1)
    assert fourth.content.startswith("Posted 1 new liker in <#")
    assert posted(emulator)[-1].embed["title"] == f"1 new liker: post {POST}"


async def test_the_scheduler_loop_survives_a_failing_tick(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    await add(driver)
    scheduler = scheduler_of(dbot)
    # A real failure of whole ticks: the table the due query reads is away for a while.
    await dbot.store.conn.execute("ALTER TABLE digests RENAME TO digests_away")
    await dbot.store.conn.commit()
    scheduler.tick_seconds = 0.01
    with caplog.at_level(logging.ERROR, logger="likelens.digests"):
        scheduler.start()
        failed = "A digest tick failed; the scheduler goes on"
        await until(lambda: sum(r.getMessage() == failed for r in caplog.records) >= 2, "two failed ticks")
        assert not posted(emulator)
        await dbot.store.conn.execute("ALTER TABLE digests_away RENAME TO digests")
        await dbot.store.conn.commit()
        # The same loop goes on: its next tick posts the baseline.
        await until(lambda: len(posted(emulator)) == 1, "the baseline from the loop")
    assert scheduler.running
    await dbot.unload_extension("cogs.digests")
    assert not scheduler.running


async def test_a_liked_digest_posts_the_posts_the_account_newly_liked(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver, subject="liked")
    await scheduler_of(dbot).tick()
    (baseline,) = posted(emulator)
    assert baseline.content == (
        "Tracking started for posts the account liked: 100+ liked posts so far. (digest #1)"
    )
    new_ids = x.add_liked_posts(2)
    clock.advance(hours=6)
    await scheduler_of(dbot).tick()
    digest = posted(emulator)[-1]
    assert digest.embed["title"] == "2 newly liked posts: posts the account liked"
    for post_id in new_ids:
        assert f"/status/{post_id})" in digest.embed["description"]


async def test_a_recent_digest_posts_new_likers_across_the_accounts_recent_posts(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver, subject="recent")
    await scheduler_of(dbot).tick()
    baseline = posted(emulator)[0].content
    assert baseline.startswith("Tracking started for the account's posts of the last 7 days")
    # Two of the ten newest posts.
    x.add_likers(sandbox.POST_MANY_LIKES, 1)
    x.add_likers(sandbox.POST_OWNER_PINNED, 2)
    clock.advance(hours=6)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].posted == 3
    digest = posted(emulator)[-1]
    assert digest.embed["title"] == "3 new likers: the account's posts of the last 7 days"
    # Browse opens the likers of the newest post the digest lists (the pinned post is 9 hours newer).
    pinned, many = x.world.posts[sandbox.POST_OWNER_PINNED], x.world.posts[sandbox.POST_MANY_LIKES]
    assert pinned.created_at - many.created_at == timedelta(hours=9)
    (custom_id,) = digest.buttons
    assert custom_id == f"ll:db:1:p:{sandbox.POST_OWNER_PINNED}"
    assert digest.buttons[custom_id]["label"] == "Browse the newest post's likers"
    clicked = await driver.click(digest, custom_id, member=emulator.member("reader"))
    assert clicked.ephemeral and clicked.embeds


async def test_runs_are_numbered_within_their_digest_and_nonces_stay_unique(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver, channel="general")
    await add(driver, subject=sandbox.POST_NO_LIKES)
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    x.add_likers(POST, 1)
    x.add_likers(sandbox.POST_NO_LIKES, 1)
    clock.advance(hours=6)
    await scheduler.tick()
    x.add_likers(sandbox.POST_NO_LIKES, 1)
    clock.advance(hours=6)
    await scheduler.tick()
    footers = [m.embed["footer"]["text"] for m in posted(emulator) if m.embeds]
    assert footers == ["digest #2 · run 2", "digest #2 · run 3"]
    nonces = [r.json["nonce"] for r in emulator.requests_to(*MESSAGES)]
    assert len(nonces) == len(set(nonces)) == 5


async def test_a_recent_digest_checks_every_post_of_the_last_7_days_ten_a_run(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver, subject="recent", every="1h")
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    since = clock.now - timedelta(days=7)
    recent = [p for p in x.world.posts.values() if p.author_id == sandbox.OWNER_ID and p.created_at >= since]
    assert len(recent) > 10
    # The baseline covers every post of the last 7 days: each one's likers read once, its likes counted.
    assert sorted(r.path for r in x.requests_to("/liking_users")) == sorted(
        f"/2/tweets/{p.id}/liking_users" for p in recent)
    listed = (await store.run_log(dbot.store.conn, 1))[0].items_found
    likes = sum(p.like_count for p in recent)
    assert listed < likes
    assert posted(emulator)[0].content == (
        f"Tracking started for the account's posts of the last 7 days ({len(recent)} posts): "
        f"{likes:,} likes so far (X lists {listed:,} of them). (digest #1)"
    )
    oldest = min(recent, key=lambda p: p.created_at)
    new_ids = x.add_likers(oldest.id, 2)
    # Ten posts a run, least recently checked first: every post is checked within two runs.
    for _ in range(2):
        read = len(x.requests_to("/liking_users"))
        clock.advance(hours=1, minutes=1)
        await scheduler.tick()
        assert len(x.requests_to("/liking_users")) - read <= 10
    (digest,) = [m for m in posted(emulator) if m.embeds]
    assert digest.embed["title"] == "2 new likers: the account's posts of the last 7 days"
    for user_id in new_ids:
        assert x.world.users[user_id].username.replace("_", "\\_") in digest.embed["description"]


async def test_the_scheduler_loop_prunes_old_runs_of_its_digests(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    conn = dbot.store.conn
    # 120 old runs, as a digest would have after months of hourly runs.
    old = clock().timestamp() - 200 * 86400
    await conn.executemany(
        "INSERT INTO digest_runs (digest_id, started_at, kind, status, number) "
        "VALUES (1, ?, 'digest', 'posted', ?)",
        [(old + n, n) for n in range(1, 121)],
    )
    await conn.commit()
    scheduler = scheduler_of(dbot)
    scheduler.tick_seconds = 0.01
    scheduler.start()
    await until(lambda: len(posted(emulator)) == 1, "the baseline from the loop")

    async def runs_left() -> int:
        async with conn.execute("SELECT COUNT(*) FROM digest_runs WHERE digest_id = 1") as cursor:
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    for _ in range(200):
        if await runs_left() == 1:
            break
        await asyncio.sleep(0.01)
    # The old runs are past 90 days: only the newest, the baseline, stays.
    assert await runs_left() == 1
