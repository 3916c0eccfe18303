"""The account rule end to end: which servers the configured X account answers, and what the others see.

A public application with X_ACCOUNT_GUILDS unset must not let any server that adds the bot read the
configured account's private likes or spend its budget: such a server gets one sentence naming
`/x connect`, and the X sandbox receives nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from accounts.rule import SERVER_REFUSAL
from store import digests as digest_store
from tests.botharness import InteractionDriver, InteractionResult, emulator_settings, running_bot
from tests.e2e.digest_support import SettableClock, digest_bot, posted, sandbox_on, scheduler_of
from tests.e2e.likes_support import assert_no_pings, message_with_button, next_id
from tests.emulator import DiscordEmulator
from tests.emulator.state import Guild
from ui.digest_browse import DigestBrowseButton
from xapi import sandbox
from xapi.sandbox import XSandbox

# One of each kind: an X lookup, a digest command that reads no X, a digest command that would.
REFUSED_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("likes status", {}),
    ("likes post", {"post": sandbox.POST_100_LIKES}),
    ("likes liked", {}),
    ("digest list", {}),
    ("digest add", {"subject": sandbox.POST_100_LIKES, "channel": "digests", "every": "6h"}),
]


async def run_in(
    emulator: DiscordEmulator, guild: Guild, command: str, **options: Any
) -> InteractionResult:
    """Run /command as a manager of guild, in its #general."""
    driver = InteractionDriver(emulator)
    member = emulator.member("manager", guild=guild)
    if "channel" in options:
        options["channel"] = guild.channel(options["channel"])
    interaction = emulator.build_slash(command, options, member=member, guild=guild)
    return await driver._run(interaction, f"/{command}")


def assert_refused(result: InteractionResult) -> None:
    assert result.callback_type == 4
    assert result.ephemeral
    assert result.content == SERVER_REFUSAL
    assert not result.embeds
    assert_no_pings(result)


async def test_a_public_application_without_x_account_guilds_refuses_every_command_and_asks_x_nothing(
    x_sandbox: XSandbox, tmp_path: Path
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        async with running_bot(emulator, settings) as bot:
            assert not bot.account_serves(int(emulator.guild.id))
            for command, options in REFUSED_COMMANDS:
                assert_refused(await run_in(emulator, emulator.guild, command, **dict(options)))
            typing = emulator.build_slash(
                "digest remove", {"digest": ""}, member=emulator.member("typist"), focused="digest"
            )
            offered = await InteractionDriver(emulator)._run(typing, "autocomplete of /digest remove")
            # Autocomplete choices (type 8), empty: a message there would be an error under the option.
            assert offered.callback_type == 8 and offered.choices == []
        # The switch is read once, from the answer login() already asked for.
        assert len(emulator.requests_to("GET", "/oauth2/applications/@me")) == 1
    assert x_sandbox.requests == []


async def test_x_account_guilds_serves_the_listed_server_and_refuses_the_others(
    x_sandbox: XSandbox, tmp_path: Path
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        other = emulator.add_guild("Someone Else's Server")
        settings = emulator_settings(
            emulator, x_sandbox.base_url, tmp_path / "likelens.db",
            x_account_guilds=frozenset({int(emulator.guild.id)}),
        )
        async with running_bot(emulator, settings):
            served = await run_in(emulator, emulator.guild, "likes status")
            assert served.embed["title"] == "LikeLens status"
            requests_when_served = len(x_sandbox.requests)
            assert requests_when_served > 0
            assert_refused(await run_in(emulator, other, "likes status"))
            assert_refused(await run_in(emulator, other, "likes post", post=sandbox.POST_100_LIKES))
    assert len(x_sandbox.requests) == requests_when_served


@pytest.mark.parametrize("sandbox_mode", [False, True], ids=["private application", "sandbox"])
async def test_a_private_application_or_the_sandbox_serves_every_server(
    x_sandbox: XSandbox, tmp_path: Path, sandbox_mode: bool
) -> None:
    # The sandbox serves every server even for a public application.
    async with DiscordEmulator(bot_public=sandbox_mode) as emulator:
        other = emulator.add_guild("A Second Server")
        settings = emulator_settings(
            emulator, x_sandbox.base_url, tmp_path / "likelens.db", sandbox=sandbox_mode
        )
        async with running_bot(emulator, settings):
            for guild in (emulator.guild, other):
                result = await run_in(emulator, guild, "likes post", post=sandbox.POST_100_LIKES)
                assert result.embeds and result.content != SERVER_REFUSAL


async def test_the_start_up_log_names_the_variable_and_the_servers_once(
    x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        other = emulator.add_guild("A Second Server")
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        with caplog.at_level(logging.INFO, logger="likelens"):
            async with running_bot(emulator, settings) as bot:
                await bot.wait_until_ready()
    lines = [r.getMessage() for r in caplog.records if "X_ACCOUNT_GUILDS" in r.getMessage()]
    assert len(lines) == 1, lines
    assert emulator.guild.id in lines[0] and other.id in lines[0]
    assert "serves no server" in lines[0]


async def test_a_private_application_logs_no_such_line(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    with caplog.at_level(logging.INFO, logger="likelens"):
        async with running_bot(emulator, settings):
            pass
    assert "X_ACCOUNT_GUILDS" not in caplog.text
    assert "Ready as" in caplog.text


async def test_paginator_buttons_of_a_server_no_longer_served_are_refused_without_asking_x(
    x_sandbox: XSandbox, tmp_path: Path
) -> None:
    async with DiscordEmulator() as emulator:
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        driver = InteractionDriver(emulator)
        async with running_bot(emulator, settings):
            result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        # The owner makes the application public: the server is no longer served.
        emulator.bot_public = True
        before = len(x_sandbox.requests)
        async with running_bot(emulator, settings):
            clicked = await driver.click(result.response, next_id(result))
            assert_refused(clicked)
    # Without the check the click would rebuild the page source from X.
    assert len(x_sandbox.requests) == before


async def test_the_digest_browse_button_of_an_unserved_server_is_refused_without_asking_x(
    x_sandbox: XSandbox, tmp_path: Path
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator:
        settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
        async with running_bot(emulator, settings) as bot:
            button = DigestBrowseButton(1, "p", sandbox.POST_100_LIKES)
            message = await message_with_button(bot, emulator, button, "digest")
            clicked = await InteractionDriver(emulator).click(message, f"ll:db:1:p:{sandbox.POST_100_LIKES}")
            assert_refused(clicked)
    assert x_sandbox.requests == []


async def test_a_digest_of_a_server_no_longer_served_does_not_run_and_asks_x_nothing(tmp_path: Path) -> None:
    clock = SettableClock()
    database = tmp_path / "likelens.db"
    async with DiscordEmulator() as emulator, sandbox_on(clock) as x:
        async with digest_bot(emulator, x, database, clock) as first:
            added = await InteractionDriver(emulator).slash(
                "digest add", subject=sandbox.POST_7_LIKES, channel="digests", every="6h"
            )
            assert "Digest #1 created" in added.content
            await scheduler_of(first).tick()
        messages, requests = len(posted(emulator)), len(x.requests)
        assert messages == 1 and requests > 0
        # The owner makes the application public: the server is no longer served.
        emulator.bot_public = True
        x.add_likers(sandbox.POST_7_LIKES, 3)
        clock.advance(hours=7)
        async with digest_bot(emulator, x, database, clock) as second:
            report = await scheduler_of(second).tick()
            assert report.outcomes[1].status == "skipped"
            # Put off to its next regular run, so unserved digests never crowd out served ones.
            assert (await scheduler_of(second).tick()).rows_read == 0
            digest = await digest_store.get_digest(second.store.conn, 1)
            assert digest is not None and digest.state == "active"
            assert digest.next_run_at is not None and digest.next_run_at > clock.timestamp()
        assert len(posted(emulator)) == messages
        assert len(x.requests) == requests
