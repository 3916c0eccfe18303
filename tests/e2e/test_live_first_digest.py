"""The first live digest after a while without any: its stream starts from now. Before, the stored
time the stream was last alive (from a run whose live digests were removed since) made the new
stream ask for X's whole backfill and tell the new digest that the stream "was down" for hours."""

from __future__ import annotations

from pathlib import Path

from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import SettableClock, digest_bot, posted
from tests.e2e.test_live_feed import POST, start_live, until_likers
from tests.e2e.test_live_feed import x as x  # noqa: PLC0414 (the module's sandbox fixture)
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

clock = digest_support.clock


async def test_a_live_digest_added_hours_after_the_last_one_went_says_no_stream_gap(
    emulator: DiscordEmulator, x: XSandbox, tmp_path: Path, clock: SettableClock,
) -> None:
    database = tmp_path / "likelens.db"
    driver = InteractionDriver(emulator)
    async with digest_bot(emulator, x, database, clock) as first:
        await start_live(first, driver, emulator)
        removed = await driver.slash("digest remove", digest=1)
        assert "removed" in removed.content
    clock.advance(hours=3)
    async with digest_bot(emulator, x, database, clock):
        result = await driver.slash("digest add", subject=f"https://x.com/a/status/{POST}", channel="digests",
                                    every="live")
        assert "Live digest #2 created" in result.content
        await emulator.wait_until(lambda: len(posted(emulator)) == 2, what="the second baseline")
        x.add_likers(POST, 2)
        links = await until_likers(emulator, 2)
    assert len(links) == len(set(links)) == 2
    newest = posted(emulator)[-1].data["embeds"][0]["description"]
    assert "stream was down" not in newest
    assert [r.query.get("backfill_minutes") for r in x.requests_to("/2/activity/stream")][-1] == "1"
