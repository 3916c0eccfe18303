"""What LikeLens keeps of members and likes, and for how long: the links of a server the bot leaves go
at once (GUILD_DELETE from the emulator); pruning bounds the like history (92 days), with the
database's other bounds in one call (store.pruning.prune, run by the digest scheduler).
"""

from __future__ import annotations

import asyncio

from bot import LikesBot
from digests.runner import GUILD_LEFT_REASON
from store.like_history import HISTORY_MAX_AGE_DAYS
from store.pruning import DAY_SECONDS, prune
from tests.emulator import DiscordEmulator


async def test_leaving_a_server_removes_its_member_links_and_no_other_servers(
    bot: LikesBot, emulator: DiscordEmulator,
) -> None:
    here, other = int(emulator.guild.id), 424242
    for guild_id, member_id, x_id in ((here, 1, "11"), (here, 2, "12"), (other, 1, "11")):
        await bot.member_links.link(guild_id, member_id, x_user_id=x_id, handle=f"fan{x_id}", now=1.0)
    await emulator.remove_bot_from(emulator.guild)
    for _ in range(200):
        if not await bot.member_links.in_server(here):
            break
        await asyncio.sleep(0.01)
    assert await bot.member_links.in_server(here) == []
    assert [link.member_id for link in await bot.member_links.in_server(other)] == [1]


async def test_pruning_drops_like_history_older_than_its_bound(bot: LikesBot) -> None:
    now = 1_800_000_000.0
    old = now - (HISTORY_MAX_AGE_DAYS + 1) * DAY_SECONDS
    history = bot.like_history
    await history.record_likers("1", "100", [("7", "old_fan")], source="digest", now=old)
    await history.record_likers("1", "100", [("8", "new_fan")], source="lookup", now=now - DAY_SECONDS)
    await history.record_like_counts("1", {"100": 3}, now=old)
    await history.record_like_counts("1", {"100": 5}, now=now - DAY_SECONDS)
    report = await prune(bot.store.conn, now=now, guild_left_reason=GUILD_LEFT_REASON)
    assert (report.likers, report.like_samples) == (1, 1)
    assert [r.liker_id for r in (await history.likers_of("1", ["100"]))["100"]] == ["8"]
    assert [s.like_count for s in await history.like_counts("1", "100")] == [5]
