"""Linked members shown where likers are shown: /likes post pages and digest embeds put the member's
mention beside a linked liker's @handle (inside the embed, allowed_mentions parse empty: no ping),
and the likers LikeLens reads there are recorded in the like history (lookup, digest).
"""

from __future__ import annotations

from bot import LikesBot
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import MESSAGES, POST, POST_URL, SettableClock, posted, scheduler_of
from tests.e2e.likes_support import assert_no_pings
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


async def test_likes_post_pages_show_a_linked_likers_member_without_a_ping_and_record_the_likers(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    liker_ids = x.world.visible_likers(POST)
    liker = x.world.users[liker_ids[0]]
    member = emulator.member("supporter")
    await dbot.member_links.link(int(emulator.guild.id), int(member.user.id), x_user_id=liker.id,
                                 handle=liker.username, now=clock.timestamp())
    result = await driver.slash("likes post", post=POST)
    fields = result.embed["fields"]
    mine = [f for f in fields if f"x.com/{liker.username}" in f["value"]]
    assert len(mine) == 1 and f"<@{member.user.id}>" in mine[0]["value"], fields
    others = [f for f in fields if f not in mine]
    assert others and not any("<@" in f["value"] for f in others)
    assert_no_pings(result)
    recorded = await dbot.like_history.likers_of(sandbox.OWNER_ID, [POST])
    assert {r.liker_id for r in recorded[POST]} == set(liker_ids)
    assert {r.source for r in recorded[POST]} == {"lookup"}


async def test_a_digest_shows_a_linked_new_likers_member_without_a_ping_and_records_the_likers(
    dbot: LikesBot, driver: InteractionDriver, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    added = await driver.slash("digest add", subject=POST_URL, channel="digests", every="6h")
    assert "created" in added.content
    scheduler = scheduler_of(dbot)
    await scheduler.tick()
    new_ids = x.add_likers(POST, 3)
    member = emulator.member("new_supporter")
    linked = x.world.users[new_ids[1]]
    await dbot.member_links.link(int(emulator.guild.id), int(member.user.id), x_user_id=linked.id,
                                 handle=linked.username, now=clock.timestamp())
    clock.advance(hours=6)
    await scheduler.tick()
    _, digest = posted(emulator)
    lines = digest.embed["description"].split("\n")
    (line,) = [line for line in lines if linked.username.replace("_", "\\_") in line]
    assert line.endswith(f"<@{member.user.id}>"), line
    assert sum("<@" in line for line in lines) == 1
    assert emulator.requests_to(*MESSAGES)[-1].json["allowed_mentions"] == {"parse": []}
    recorded = await dbot.like_history.likers_of(sandbox.OWNER_ID, [POST])
    sources = {r.liker_id: r.source for r in recorded[POST]}
    assert {sources[i] for i in new_ids} == {"digest"}
    # The post's like count was sampled by the digest (the trend's history).
    assert [s.like_count for s in await dbot.like_history.like_counts(sandbox.OWNER_ID, POST)][-1] == 10
