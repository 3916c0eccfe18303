"""/digest end to end: the real bot on the Discord emulator, the X sandbox, SQLite, a settable clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    SettableClock,
    bot_may,
    digest_bot,
    eventually,
    posted,
    sandbox_on,
    scheduler_of,
    until,
)
from tests.emulator import DiscordEmulator
from ui.error_messages import APOLOGY
from xapi import sandbox
from xapi.sandbox import XSandbox

MESSAGES = ("POST", "/channels/{channel_id}/messages")
CALLBACKS = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
POST = sandbox.POST_7_LIKES
POST_URL = f"https://x.com/{sandbox.OWNER_USERNAME}/status/{POST}"


# The digest tests' shared fixtures (each module brings its own `x` sandbox, which dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


async def add(
    driver: InteractionDriver, subject: str = POST_URL, every: str = "6h", channel: str = "digests"
) -> str:
    result = await driver.slash("digest add", subject=subject, channel=channel, every=every)
    assert result.ephemeral
    return result.content


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


async def test_add_refuses_a_channel_where_the_bot_cannot_embed(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    emulator.add_channel("no-embeds", bot_deny=discord.Permissions(embed_links=True))
    async with digest_bot(emulator, x, tmp_path / "db.sqlite", clock) as running:
        answer = await add(InteractionDriver(emulator), channel="no-embeds")
        assert "cannot post digests" in answer and "Embed Links" in answer
        assert await store.guild_digests(running.store.conn, int(emulator.guild.id)) == []


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


async def test_a_restart_between_send_and_record_posts_no_duplicate(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        await add(InteractionDriver(emulator))
        await scheduler_of(first).tick()
        x.add_likers(POST, 2)
        clock.advance(hours=6)
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(first).tick())
        await emulator.wait_until(lambda: len(posted(emulator)) == 2, what="the digest to reach Discord")
        # The bot dies after Discord accepted the message and before it recorded the delivery.
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    release.set()
    async with digest_bot(emulator, x, database, clock) as second:
        report = await scheduler_of(second).tick()
        assert report.outcomes[1].status == "posted"
        first_try, retry = emulator.requests_to(*MESSAGES)[-2:]
        assert retry.json["nonce"] == first_try.json["nonce"]
        assert len(posted(emulator)) == 2
        clock.advance(hours=6)
        await scheduler_of(second).tick()
        assert len(posted(emulator)) == 2


@pytest.mark.parametrize("kind", ["baseline", "digest"])
async def test_a_crash_longer_than_discords_nonce_window_still_posts_no_duplicate(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, *, clock: SettableClock, kind: str,
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        await add(InteractionDriver(emulator))
        if kind == "digest":
            await scheduler_of(first).tick()
            x.add_likers(POST, 2)
            clock.advance(hours=6)
        release = emulator.stall_next(*MESSAGES)
        tick = asyncio.create_task(scheduler_of(first).tick())
        expected = 2 if kind == "digest" else 1
        await emulator.wait_until(lambda: len(posted(emulator)) == expected, what="the message to arrive")
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
    release.set()
    # Down for an hour: Discord no longer remembers the nonce.
    emulator.clock.advance(hours=1)
    clock.advance(hours=1)
    sends = len(emulator.requests_to(*MESSAGES))
    async with digest_bot(emulator, x, database, clock) as second:
        report = await scheduler_of(second).tick()
        assert report.outcomes[1].status == ("posted" if kind == "digest" else "baseline")
        # Found in the channel's history: not sent again.
        assert len(emulator.requests_to(*MESSAGES)) == sends
        assert len(posted(emulator)) == expected
        log = await store.run_log(second.store.conn, 1)
        assert log[0].status == "posted" and log[0].message_id == int(posted(emulator)[-1].id)


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


async def test_missing_permission_pauses_and_tells_the_creator_by_dm(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    await emulator.set_bot_deny(emulator.channel("digests"), discord.Permissions(embed_links=True))
    await until(lambda: not bot_may(dbot, emulator, "digests", "embed_links"), "CHANNEL_UPDATE")
    clock.advance(hours=6)
    before = len(x.requests)
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "paused"
    # Checked before sending: no 403 collected, no X request spent.
    assert all(r.status != 403 for r in emulator.requests_to(*MESSAGES))
    assert len(x.requests) == before
    (dm,) = [m for c in emulator.dm_channels.values() for m in emulator.messages_in(c)]
    assert "digest #1 is paused" in dm.content and "Embed Links" in dm.content
    listing = await driver.slash("digest list")
    assert "**paused**" in listing.embed["description"] and "Embed Links" in listing.embed["description"]
    assert "⚠️" not in listing.embed["description"]
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).rows_read == 0


async def test_a_creator_with_closed_dms_is_told_by_the_next_digest_list_once(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    emulator.closed_dms.add(driver.moderator.user.id)
    await emulator.set_bot_deny(emulator.channel("digests"), discord.Permissions(send_messages=True))
    await until(lambda: not bot_may(dbot, emulator, "digests", "send_messages"), "CHANNEL_UPDATE")
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "paused"
    first = await driver.slash("digest list")
    assert "⚠️ Your LikeLens digest #1 is paused" in first.embed["description"]
    second = await driver.slash("digest list")
    assert "⚠️" not in second.embed["description"] and "**paused**" in second.embed["description"]


async def test_a_deleted_channel_disables_the_digest_and_keeps_it(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    await scheduler_of(dbot).tick()
    channel = emulator.channel("digests")
    await emulator.delete_channel(channel)
    await until(lambda: dbot.get_channel(int(channel.id)) is None, "CHANNEL_DELETE")
    clock.advance(hours=6)
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "disabled"
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.channel_id == int(channel.id)
    assert digest.subject_id == POST and "channel was deleted" in (digest.reason or "")
    listing = await driver.slash("digest list")
    assert "**disabled**: its channel was deleted" in listing.embed["description"]


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


async def test_the_scheduler_loop_survives_a_failing_tick(dbot: LikesBot) -> None:
    scheduler = scheduler_of(dbot)
    calls = 0
    real_tick = scheduler.tick

    async def flaky_tick() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        await real_tick()

    scheduler.tick = flaky_tick  # type: ignore[method-assign,assignment]
    scheduler.tick_seconds = 0.01
    scheduler.start()
    for _ in range(200):
        if calls >= 3:
            break
        await asyncio.sleep(0.01)
    assert calls >= 3 and scheduler.running
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
    # Browse opens the likers of the newest post the digest lists.
    (custom_id,) = digest.buttons
    assert custom_id in {f"ll:db:1:p:{sandbox.POST_MANY_LIKES}", f"ll:db:1:p:{sandbox.POST_OWNER_PINNED}"}
    assert digest.buttons[custom_id]["label"] == "Browse the newest post's likers"
    clicked = await driver.click(digest, custom_id, member=emulator.member("reader"))
    assert clicked.ephemeral and clicked.embeds


async def test_browse_opens_a_private_paginator_for_whoever_clicks_even_after_a_restart(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock
) -> None:
    database = tmp_path / "likelens.db"
    async with digest_bot(emulator, x, database, clock) as first:
        driver = InteractionDriver(emulator)
        await add(driver, subject=sandbox.POST_100_LIKES)
        await scheduler_of(first).tick()
        x.add_likers(sandbox.POST_100_LIKES, 2)
        clock.advance(hours=6)
        await scheduler_of(first).tick()
        digest = posted(emulator)[-1]
        custom_id = f"ll:db:1:p:{sandbox.POST_100_LIKES}"
        assert digest.buttons[custom_id]["label"] == "Browse"
        member = emulator.member("reader", discord.Permissions(view_channel=True))
        before = dict(digest.data)
        clicked = await driver.click(digest, custom_id, member=member)
        assert clicked.ephemeral and clicked.embeds and clicked.response.id != digest.id
        # The digest message itself is untouched.
        assert digest.data == before
    async with digest_bot(emulator, x, database, clock):
        again = await InteractionDriver(emulator).click(digest, custom_id)
        assert again.ephemeral and again.embeds
        public = emulator.messages_in(emulator.channel("digests"), include_ephemeral=False)
        assert public[-1].id == digest.id and len(public) == 2


@pytest.mark.parametrize(("command", "options"), [
    ("digest list", {}),
    ("digest remove", {"digest": 9}),
    ("digest pause", {"digest": 9}),
    ("digest resume", {"digest": 9}),
    ("digest run", {"digest": 9}),
])
async def test_every_digest_command_answers_privately_about_an_unknown_digest(
    driver: InteractionDriver, command: str, options: dict[str, Any]
) -> None:
    result = await driver.slash(command, **options)
    assert result.ephemeral
    assert "no digest" in result.content or "no digests yet" in result.content


async def test_pause_resume_remove_and_autocomplete(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    await add(driver, subject="liked", channel="general")
    choices = await driver.autocomplete("digest pause", "digest", "liked")
    assert [c["value"] for c in choices] == [2]
    assert "paused" in (await driver.slash("digest pause", digest=1)).content
    assert (await scheduler_of(dbot).tick()).outcomes.keys() == {2}
    assert "resumed" in (await driver.slash("digest resume", digest=1)).content
    assert (await scheduler_of(dbot).tick()).outcomes[1].status == "baseline"
    assert "removed" in (await driver.slash("digest remove", digest=1)).content
    assert [d.id for d in await store.guild_digests(dbot.store.conn, int(emulator.guild.id))] == [2]


async def test_a_fresh_run_sends_without_reading_the_channel_history(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    # Only a run left pending for longer than Discord's nonce window is looked for in the history.
    await add(driver)
    await scheduler_of(dbot).tick()
    x.add_likers(POST, 2)
    clock.advance(hours=6)
    await scheduler_of(dbot).tick()
    assert len(posted(emulator)) == 2
    assert emulator.requests_to("GET", "/channels/{channel_id}/messages") == []


async def test_a_digest_paused_during_a_tick_is_not_posted_by_that_tick(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    await add(driver, channel="general")
    await add(driver, channel="digests")
    # The tick read both due rows, then waits on Discord for digest #1's message.
    release = emulator.stall_next(*MESSAGES)
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    general = emulator.channel("general")
    await emulator.wait_until(
        lambda: len(emulator.messages_in(general, include_ephemeral=False)) == 1, what="digest #1's message"
    )
    paused = await driver.slash("digest pause", digest=2)
    assert "paused" in paused.content
    release.set()
    report = await tick
    assert report.outcomes[2].status == "skipped"
    assert posted(emulator, "digests") == []
    assert await store.run_log(dbot.store.conn, 2) == []


async def test_digest_run_during_the_tick_posting_the_baseline_posts_no_second_baseline(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    await add(driver)
    release = emulator.stall_next(*MESSAGES)
    tick = asyncio.create_task(scheduler_of(dbot).tick())
    await emulator.wait_until(lambda: len(posted(emulator)) == 1, what="the baseline")
    # /digest run reads the digest (baseline not done yet), defers, and waits for the tick.
    callbacks = len(emulator.requests_to(*CALLBACKS))
    run = asyncio.create_task(driver.slash("digest run", digest=1))
    await emulator.wait_until(
        lambda: len(emulator.requests_to(*CALLBACKS)) > callbacks, what="/digest run to defer"
    )
    release.set()
    assert (await tick).outcomes[1].status == "baseline"
    result = await run
    await until(lambda: "Nothing new" in result.content, "the answer of /digest run")
    assert len(posted(emulator)) == 1
    log = await store.run_log(dbot.store.conn, 1)
    assert [(r.kind, r.status) for r in log] == [("digest", "nothing_new"), ("baseline", "posted")]


async def test_a_server_that_removed_the_bot_disables_its_digests_with_the_reason(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    sent = len(x.requests)
    guild_id = int(emulator.guild.id)
    await emulator.remove_bot_from(emulator.guild)
    await until(lambda: dbot.get_guild(guild_id) is None, "the bot to forget the guild")

    async def disabled() -> bool:
        found = await store.get_digest(dbot.store.conn, 1)
        return found is not None and found.state == "disabled"

    # on_guild_remove disables it at once, without waiting for a tick.
    await eventually(disabled, "the digest to be disabled")
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.next_run_at is None
    assert digest.reason is not None and "no longer in this server" in digest.reason
    clock.advance(hours=1)
    assert (await scheduler_of(dbot).tick()).rows_read == 0
    assert len(x.requests) == sent


async def test_a_digest_of_a_server_left_while_the_bot_was_offline_is_disabled_by_the_tick(
    dbot: LikesBot, x: XSandbox, clock: SettableClock
) -> None:
    # After READY, a guild neither cached nor unavailable is one the bot is no longer in.
    await store.add_digest(dbot.store.conn, guild_id=1234567890123, channel_id=1, creator_id=1,
                           subject_kind="post", subject_id=POST, every_seconds=3600, now=clock.timestamp())
    report = await scheduler_of(dbot).tick()
    assert report.outcomes[1].status == "disabled"
    digest = await store.get_digest(dbot.store.conn, 1)
    assert digest is not None and digest.state == "disabled" and digest.reason is not None
    assert "no longer in this server" in digest.reason
    assert len(x.requests) == 0


async def test_an_unavailable_server_is_retried_later_and_less_often_while_it_lasts(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, clock: SettableClock
) -> None:
    await add(driver)
    guild_id = int(emulator.guild.id)
    await emulator.guild_outage(emulator.guild)
    await until(lambda: getattr(dbot.get_guild(guild_id), "unavailable", False), "the outage")
    scheduler = scheduler_of(dbot)
    delays = []
    for _ in range(4):
        assert (await scheduler.tick()).outcomes[1].status == "skipped"
        digest = await store.get_digest(dbot.store.conn, 1)
        assert digest is not None and digest.state == "active" and digest.next_run_at is not None
        delays.append(digest.next_run_at - clock.timestamp())
        clock.advance(seconds=delays[-1])
    assert delays[0] == pytest.approx(300) and delays[-1] > delays[0]
    assert delays == sorted(delays)
    assert posted(emulator) == []


async def test_an_unexpected_failure_of_a_digest_command_gets_the_short_apology(
    dbot: LikesBot, driver: InteractionDriver
) -> None:
    await add(driver)
    # A real, unexpected failure: the table the commands read is gone.
    await dbot.store.conn.execute("DROP TABLE digest_runs")
    await dbot.store.conn.execute("DROP TABLE digest_items")
    await dbot.store.conn.execute("DROP TABLE digests")
    commands: list[tuple[str, dict[str, Any]]] = [("digest list", {}), ("digest run", {"digest": 1})]
    for command, options in commands:
        result = await driver.slash(command, **options)
        assert result.ephemeral
        assert result.content == APOLOGY, command


async def test_a_message_discord_refuses_for_good_is_dropped_and_the_next_run_rebuilds_it(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock
) -> None:
    await add(driver)
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    first_new = x.add_likers(POST, 2)
    clock.advance(hours=6)
    emulator.fail_next(*MESSAGES, 400, code=50035, message="Invalid Form Body")
    assert (await scheduler.tick()).outcomes[1].status == "failed"
    # The refused run is over: not pending, its items not taken (the next run lists them again).
    assert await store.pending_run(dbot.store.conn, 1) is None
    assert await store.seen_items(dbot.store.conn, 1, first_new) == set()
    log = await store.run_log(dbot.store.conn, 1)
    assert log[0].status == "failed" and log[0].error is not None and "400" in log[0].error
    x.add_likers(POST, 1)
    clock.advance(hours=6)
    assert (await scheduler.tick()).outcomes[1].status == "posted"
    (_, digest) = posted(emulator)
    assert digest.embed["title"] == f"3 new likers: post {POST}"


@pytest.mark.parametrize("subject", [
    sandbox.POST_DELETED, f"https://x.com/other_public/status/{sandbox.POST_OTHER_ACCOUNT}",
])
async def test_add_refuses_a_deleted_post_or_another_accounts_post_as_likes_post_does(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, subject: str
) -> None:
    likes_answer = (await driver.slash("likes post", post=subject)).content
    answer = await add(driver, subject=subject)
    assert answer == likes_answer
    assert "deleted" in answer or "Likes are private on X" in answer
    assert await store.guild_digests(dbot.store.conn, int(emulator.guild.id)) == []


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
