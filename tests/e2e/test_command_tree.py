"""The command tree the bot syncs: final shape, synced once, re-synced only on purpose."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import discord
import pytest

from bot import LikesBot
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox

GLOBAL_SYNC = ("PUT", "/applications/{application_id}/commands")
GUILD_SYNC = ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
LIKES = {"post": {"post", "public"}, "liked": {"user", "public"}, "check": {"post", "user"},
         "export": {"post"}, "status": set(), "members": {"post", "public"}, "top": {"days", "public"},
         "trend": {"post", "public"}}
DIGEST = {"add": {"subject", "channel", "every"}, "list": set(), "remove": {"digest"}, "pause": {"digest"},
          "resume": {"digest"}, "run": {"digest"}}
# Message commands (right-click a message → Apps): type 3, no description, no options.
MESSAGE_COMMANDS = {"Who liked this post"}


def synced_tree(emulator: DiscordEmulator) -> dict[str, dict[str, Any]]:
    (request,) = emulator.requests_to(*GLOBAL_SYNC)
    assert request.status == 200, request.response
    return {command["name"]: command for command in request.json}


def subcommands(command: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert all(option["type"] == 1 for option in command["options"])
    return {option["name"]: option for option in command["options"]}


async def test_the_first_start_syncs_the_final_tree_once(bot: LikesBot, emulator: DiscordEmulator) -> None:
    tree = synced_tree(emulator)
    assert set(tree) == {"likes", "digest", "x", "link", "unlink", *MESSAGE_COMMANDS}
    assert {name for name, command in tree.items() if command["type"] == 3} == MESSAGE_COMMANDS
    # /link and /unlink: every member, about themselves only; no options.
    for own in ("link", "unlink"):
        assert tree[own].get("options", []) == [] and tree[own].get("default_member_permissions") is None
    likes, digest = subcommands(tree["likes"]), subcommands(tree["digest"])
    assert {name: sub.get("options", []) for name, sub in subcommands(tree["x"]).items()} == {
        "connect": [], "disconnect": []}
    assert {name: {o["name"] for o in sub.get("options", [])} for name, sub in likes.items()} == LIKES
    assert {name: {o["name"] for o in sub.get("options", [])} for name, sub in digest.items()} == DIGEST
    for name in MESSAGE_COMMANDS:
        assert tree[name].get("description", "") == "" and not tree[name].get("options")
    for command in (tree["likes"], tree["digest"]):
        assert command["description"]
        for sub in command.get("options", []):
            assert sub["description"], sub["name"]
            for option in sub.get("options", []):
                assert option["description"], (command["name"], sub["name"], option["name"])
    manage_messages = discord.Permissions(manage_messages=True).value
    manage_guild = discord.Permissions(manage_guild=True).value
    assert int(tree["likes"]["default_member_permissions"]) == manage_messages
    assert int(tree["digest"]["default_member_permissions"]) == manage_guild
    assert int(tree["x"]["default_member_permissions"]) == manage_guild
    for name in MESSAGE_COMMANDS:
        assert int(tree[name]["default_member_permissions"]) == manage_messages
    for command in tree.values():
        # Guild only: usable in servers (context 0), never in DMs.
        assert command["contexts"] == [0] or command.get("dm_permission") is False
    add_options = {o["name"]: o for o in digest["add"]["options"]}
    assert [c["value"] for c in add_options["every"]["choices"]] == ["1h", "6h", "12h", "24h", "live"]
    assert add_options["channel"]["type"] == 7
    assert all(o["required"] for o in add_options.values())
    def required(sub: dict[str, Any]) -> dict[str, bool]:
        return {o["name"]: o.get("required", False) for o in sub["options"]}

    assert required(likes["post"]) == {"post": True, "public": False}
    assert required(likes["liked"]) == {"user": False, "public": False}
    assert required(likes["check"]) == {"post": True, "user": True}
    # Every post option, and /digest add subject, offers the account's recent posts as one types.
    autocompleted = {(sub, o["name"]) for sub, d in (*likes.items(), *digest.items())
                     for o in d.get("options", []) if o.get("autocomplete")}
    assert {("post", "post"), ("check", "post"), ("export", "post"), ("members", "post"), ("trend", "post"),
            ("add", "subject")} <= autocompleted
    assert required(likes["members"]) == required(likes["trend"]) == {"post": True, "public": False}
    assert required(likes["top"]) == {"days": False, "public": False}
    days = next(o for o in likes["top"]["options"] if o["name"] == "days")
    assert days["type"] == 4 and [c["value"] for c in days["choices"]] == [7, 30, 90]
    assert bot.synced_this_start


async def test_a_second_start_with_the_same_tree_does_not_sync(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as first:
        assert first.synced_this_start
    async with running_bot(emulator, settings) as second:
        assert not second.synced_this_start
        # The commands synced by the first start still work.
        result = await InteractionDriver(emulator).slash("likes status")
        assert result.embed["title"] == "LikeLens status"
    assert len(emulator.requests_to(*GLOBAL_SYNC)) == 1


async def test_force_sync_and_a_dev_guild_sync_again(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings):
        pass
    async with running_bot(emulator, settings, force_sync=True) as forced:
        assert forced.synced_this_start
    assert len(emulator.requests_to(*GLOBAL_SYNC)) == 2

    dev = dataclasses.replace(settings, dev_guild_id=int(emulator.guild.id))
    async with running_bot(emulator, dev) as in_guild:
        assert in_guild.synced_this_start
    (guild_sync,) = emulator.requests_to(*GUILD_SYNC)
    assert guild_sync.path.endswith(f"/guilds/{emulator.guild.id}/commands")
    synced = {c["name"] for c in guild_sync.json}
    assert synced == {"likes", "digest", "x", "link", "unlink", *MESSAGE_COMMANDS}


ALL_COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("likes post", {"post": "1600000000000000002"}),
    ("likes post", {"post": "1600000000000000002", "public": True}),
    ("likes liked", {}),
    ("likes check", {"post": "1600000000000000002", "user": "@someone"}),
    ("likes export", {"post": "1600000000000000002"}),
    ("likes status", {}),
    ("likes members", {"post": "1600000000000000002"}),
    ("likes top", {"public": True}),
    ("likes trend", {"post": "1600000000000000002"}),
    # The /digest commands are covered by tests/e2e/test_digests.py.
]


@pytest.mark.parametrize(("command", "options"), ALL_COMMANDS)
async def test_every_likes_command_answers_privately_unless_public(
    driver: InteractionDriver, command: str, options: dict[str, Any]
) -> None:
    result = await driver.slash(command, **options)
    # Deferred before X is asked, then edited (tests/e2e/test_likes_*.py check what is shown).
    assert result.callback_type == 5
    assert result.ephemeral is not options.get("public", False)
    assert not result.response.loading
    assert result.content or result.embeds


async def test_members_lacking_the_default_permission_are_not_offered_the_command(
    driver: InteractionDriver, emulator: DiscordEmulator
) -> None:
    helper = emulator.member("helper", discord.Permissions(manage_messages=True))
    assert (await driver.slash("likes status", member=helper)).embeds
    with pytest.raises(PermissionError):
        await driver.slash("digest list", member=helper)
    with pytest.raises(PermissionError):
        await driver.slash("likes status", member=emulator.member("visitor", discord.Permissions.none()))


async def test_digest_autocomplete_offers_the_servers_digests_by_id_and_subject(
    driver: InteractionDriver,
) -> None:
    assert await driver.autocomplete("digest remove", "digest", "") == []
    post = f"https://x.com/likelens_demo/status/{sandbox.POST_7_LIKES}"
    for subject in (post, "liked"):
        added = await driver.slash("digest add", subject=subject, channel="digests", every="24h")
        assert "digest #" in added.content.lower(), added.content
    await driver.slash("digest pause", digest=2)

    # What the member sees in Discord's list while typing: every digest, then those matching.
    assert await driver.autocomplete("digest remove", "digest", "") == [
        {"name": f"#1 post {sandbox.POST_7_LIKES} (active)", "value": 1},
        {"name": "#2 posts the account liked (paused)", "value": 2},
    ]
    assert [c["value"] for c in await driver.autocomplete("digest resume", "digest", "LIKED")] == [2]
    assert [c["value"] for c in await driver.autocomplete("digest run", "digest", "#1")] == [1]
    assert await driver.autocomplete("digest pause", "digest", "no such digest") == []
