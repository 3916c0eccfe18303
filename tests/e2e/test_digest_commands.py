"""The /digest commands end to end: unknown digests, pause/resume/remove, errors, refused subjects,
and the Browse button across a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest

from bot import LikesBot
from store import digests as store
from tests.botharness import InteractionDriver
from tests.e2e import digest_support
from tests.e2e.digest_support import (
    SettableClock,
    add,
    digest_bot,
    posted,
    scheduler_of,
)
from tests.emulator import DiscordEmulator
from ui.error_messages import APOLOGY
from xapi import sandbox
from xapi.sandbox import XSandbox

# The digest tests' shared fixtures and names (digest_support.x is the sandbox dbot runs on).
clock = digest_support.clock
dbot = digest_support.dbot
driver = digest_support.driver
x = digest_support.x


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


async def test_an_unexpected_failure_of_a_digest_command_gets_the_short_apology(
    dbot: LikesBot, driver: InteractionDriver
) -> None:
    await add(driver)
    # A real, unexpected failure: the table the commands read is gone.
    cascade = " CASCADE" if dbot.store.conn.dialect == "postgresql" else ""  # the live tables refer to it
    await dbot.store.conn.execute("DROP TABLE digest_runs")
    await dbot.store.conn.execute("DROP TABLE digest_items")
    await dbot.store.conn.execute(f"DROP TABLE digests{cascade}")
    commands: list[tuple[str, dict[str, Any]]] = [("digest list", {}), ("digest run", {"digest": 1})]
    for command, options in commands:
        result = await driver.slash(command, **options)
        assert result.ephemeral
        assert result.content == APOLOGY, command


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
