"""The like counts of the account's recent posts are sampled cheaply, hourly: one batched
GET /2/tweets?ids= (up to 100 posts) per account for the posts LikeLens recorded lately, which feeds
/likes trend between lookups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot import LikesBot
from cogs.members import MembersCog
from tests.accounts_support import accounts_bot, connect_sandbox_account
from tests.botharness import InteractionDriver
from tests.e2e.digest_support import SettableClock, sandbox_on
from tests.emulator import DiscordEmulator
from xapi.sandbox import COMMUNITY_MAPLE, XSandbox

NEWEST, OLDER, OLDEST = COMMUNITY_MAPLE.post_ids


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest_asyncio.fixture
async def x(clock: SettableClock) -> AsyncIterator[XSandbox]:
    async with sandbox_on(clock) as server:
        yield server


@pytest_asyncio.fixture
async def bot(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> AsyncIterator[LikesBot]:
    async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as running:
        await connect_sandbox_account(running, x, emulator.guild.id, handle="maple_guild")
        yield running


def members_cog(bot: LikesBot) -> MembersCog:
    cog = bot.get_cog("Members")
    assert cog is not None and type(cog).__name__ == MembersCog.__name__
    return cog  # type: ignore[return-value]


async def test_an_hourly_sample_reads_the_recorded_posts_like_counts_in_one_batched_lookup(
    bot: LikesBot, emulator: DiscordEmulator, x: XSandbox, clock: SettableClock,
) -> None:
    driver = InteractionDriver(emulator)
    for post in (NEWEST, OLDER):
        await driver.slash("likes members", post=post)
    clock.advance(hours=2)
    x.add_likers(NEWEST, 3)
    asked = len(x.requests)
    added = await members_cog(bot).sample_like_counts()
    # (The two hours also expired the access token: the refresh is X's token endpoint, not a lookup.)
    lookups = [r for r in x.requests[asked:] if r.path.startswith("/2/tweets")]
    assert [(r.path, sorted(r.query["ids"].split(","))) for r in lookups] == [
        ("/2/tweets", sorted([NEWEST, OLDER]))]
    assert added == 2
    samples = await bot.like_history.like_counts(COMMUNITY_MAPLE.id, NEWEST)
    assert [s.like_count for s in samples] == [6, 9]
    # Sampled again within the hour with nothing changed: nothing is added.
    assert await members_cog(bot).sample_like_counts() == 0
