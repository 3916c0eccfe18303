"""Two servers on two connected X accounts never see each other; a server with no account asks X nothing.

A public application (the configured account serves no server), three emulator guilds: Maple's
server connected to the sandbox's @maple_guild, Harbor's to @harbor_club, and a third with none.
Each community account has its own posts and fans (xapi/sandbox/community.py), so a maple fan's
handle in anything Harbor's server is shown would be a leak.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio

from accounts.rule import SERVER_REFUSAL
from bot import LikesBot
from tests.accounts_support import accounts_bot, click_in, connect_sandbox_account, run_in
from tests.botharness import InteractionResult
from tests.e2e.likes_support import assert_no_pings, next_id
from tests.emulator import DiscordEmulator, Message
from tests.emulator.state import Guild, Member
from ui.paginator import OTHER_SERVER
from xapi.sandbox import XSandbox
from xapi.sandbox.community import COMMUNITY_HARBOR, COMMUNITY_MAPLE

MAPLE_POST = COMMUNITY_MAPLE.post_ids[0]
HARBOR_POST = COMMUNITY_HARBOR.post_ids[0]


@dataclass
class World:
    bot: LikesBot
    emulator: DiscordEmulator
    sandbox: XSandbox
    maple: Guild
    harbor: Guild
    bare: Guild
    maple_mod: Member
    harbor_mod: Member


@pytest_asyncio.fixture
async def world(x_sandbox: XSandbox, tmp_path: Path) -> AsyncIterator[World]:
    async with DiscordEmulator(bot_public=True) as emulator:
        harbor = emulator.add_guild("Harbor Club")
        bare = emulator.add_guild("No Account Here")
        async with accounts_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
            await connect_sandbox_account(bot, x_sandbox, emulator.guild.id, handle="maple_guild")
            await connect_sandbox_account(bot, x_sandbox, harbor.id, handle="harbor_club")
            # Enough maple likers for several pages (the fans are maple's alone).
            x_sandbox.add_likers(MAPLE_POST, 40)
            x_sandbox.add_likers(HARBOR_POST, 40)
            yield World(bot, emulator, x_sandbox, emulator.guild, harbor, bare,
                        emulator.member("maple mod", guild=emulator.guild),
                        emulator.member("harbor mod", guild=harbor))


def _text(result: InteractionResult) -> str:
    parts = [result.content, *(str(e) for e in result.embeds)]
    parts += [m.content + "".join(str(e) for e in m.data.get("embeds", [])) for m in result.followups]
    return "\n".join(parts)


def maple_likers(world: World) -> set[str]:
    return {world.sandbox.world.users[i].username for i in world.sandbox.world.visible_likers(MAPLE_POST)}


async def test_each_server_sees_its_own_accounts_likers_and_never_the_others(world: World) -> None:
    mine = await run_in(world.emulator, world.maple, "likes post", member=world.maple_mod, post=MAPLE_POST)
    assert mine.embeds and "maple" in _text(mine)
    theirs = await run_in(world.emulator, world.harbor, "likes post", member=world.harbor_mod,
                          post=MAPLE_POST)
    shown = _text(theirs)
    assert "@harbor\\_club" in shown or "@harbor_club" in shown, shown
    assert not any(name in shown or name.replace("_", "\\_") in shown for name in maple_likers(world))
    own = await run_in(world.emulator, world.harbor, "likes post", member=world.harbor_mod, post=HARBOR_POST)
    assert "harbor" in _text(own) and "maple" not in _text(own).lower()
    for result in (mine, theirs, own):
        assert_no_pings(result)


async def test_a_page_button_copied_into_another_server_is_refused_without_asking_x(world: World) -> None:
    first = await run_in(world.emulator, world.maple, "likes post", member=world.maple_mod, post=MAPLE_POST)
    button = next_id(first)
    crafted = Message({**first.response.data, "channel_id": world.harbor.channel("general").id,
                       "guild_id": world.harbor.id})
    asked = len(world.sandbox.requests)
    refused = await click_in(world.emulator, crafted, button, member=world.harbor_mod)
    assert refused.content == OTHER_SERVER and not refused.embeds
    assert len(world.sandbox.requests) == asked
    # In its own server the same button turns the page.
    turned = await click_in(world.emulator, first, button, member=world.maple_mod)
    assert turned.embeds and "maple" in _text(turned)


async def test_the_csv_export_holds_only_the_servers_own_accounts_likers(world: World) -> None:
    exported = await run_in(world.emulator, world.maple, "likes export", member=world.maple_mod,
                            post=MAPLE_POST)
    rows = _csv_rows(world, exported)
    assert len(rows) == 46 and {r["username"] for r in rows} == maple_likers(world)
    refused = await run_in(world.emulator, world.harbor, "likes export", member=world.harbor_mod,
                           post=MAPLE_POST)
    assert not _attachments(world, refused)
    assert "maple_fan" not in _text(refused)
    harbor = _csv_rows(world, await run_in(world.emulator, world.harbor, "likes export",
                                           member=world.harbor_mod, post=HARBOR_POST))
    assert len(harbor) == 46 and not {r["username"] for r in harbor} & maple_likers(world)


def _attachments(world: World, result: InteractionResult) -> list[bytes]:
    files: list[bytes] = []
    for message in [result.response, *result.followups]:
        files += list(message.files.values())
    return files


def _csv_rows(world: World, result: InteractionResult) -> list[dict[str, str]]:
    files = _attachments(world, result)
    assert files, _text(result)
    return list(csv.DictReader(io.StringIO(files[-1].decode("utf-8-sig"))))


async def test_status_names_each_servers_own_account_and_who_connected_it(world: World) -> None:
    maple = (await run_in(world.emulator, world.maple, "likes status", member=world.maple_mod)).embed
    harbor = (await run_in(world.emulator, world.harbor, "likes status", member=world.harbor_mod)).embed
    first_maple, first_harbor = maple["description"].splitlines()[0], harbor["description"].splitlines()[0]
    assert "@maple\\_guild" in first_maple and "(connected by <@4242> <t:" in first_maple
    assert "@harbor\\_club" in first_harbor and "harbor" not in maple["description"]
    assert "maple" not in str(harbor)


async def test_digests_and_their_autocomplete_stay_in_their_server(world: World) -> None:
    added = await run_in(world.emulator, world.maple, "digest add", member=world.maple_mod,
                         subject=MAPLE_POST, channel="digests", every="6h")
    assert "Digest #1 created" in added.content, added.content
    listed = await run_in(world.emulator, world.harbor, "digest list", member=world.harbor_mod)
    assert "no digests yet" in listed.content and MAPLE_POST not in _text(listed)
    offered = await run_in(world.emulator, world.harbor, "digest remove", member=world.harbor_mod,
                           focused="digest", digest="")
    assert offered.choices == []
    mine = await run_in(world.emulator, world.maple, "digest remove", member=world.maple_mod,
                        focused="digest", digest="")
    assert [c["value"] for c in mine.choices] == [1]


async def test_a_server_with_no_account_is_refused_everything_and_x_hears_nothing(world: World) -> None:
    asked = len(world.sandbox.requests)
    commands: list[tuple[str, dict[str, Any]]] = [("likes post", {"post": MAPLE_POST}), ("likes status", {}),
                             ("likes export", {"post": MAPLE_POST}), ("likes liked", {}),
                             ("digest add", {"subject": MAPLE_POST, "channel": "digests", "every": "6h"})]
    for command, options in commands:
        result = await run_in(world.emulator, world.bare, command, **options)
        assert result.content == SERVER_REFUSAL and not result.embeds, command
    assert len(world.sandbox.requests) == asked


async def test_an_ordinary_moderator_session_costs_each_server_three_x_requests(world: World) -> None:
    # /likes post, three page flips and /likes status: counted at the sandbox, per server.
    sessions = ((world.maple, world.maple_mod, MAPLE_POST), (world.harbor, world.harbor_mod, HARBOR_POST))
    for guild, member, post in sessions:
        before = len(world.sandbox.requests)
        result = await run_in(world.emulator, guild, "likes post", member=member, post=post)
        for _ in range(3):
            result = await click_in(world.emulator, result, next_id(result), member=member)
        await run_in(world.emulator, guild, "likes status", member=member)
        spent = world.sandbox.requests[before:]
        # The post, the account (/2/users/me), one page of up to 100 likers; flips and status from memory.
        assert [r.path.rsplit("/", 1)[-1] for r in spent] == [post, "me", "liking_users"], spent


async def test_a_tick_reads_each_servers_digest_with_its_own_account(world: World) -> None:
    from tests.e2e.digest_support import scheduler_of  # noqa: PLC0415

    for guild, member in ((world.maple, world.maple_mod), (world.harbor, world.harbor_mod)):
        added = await run_in(world.emulator, guild, "digest add", member=member, subject="liked",
                             channel="digests", every="6h")
        assert "created" in added.content, added.content
    asked = len(world.sandbox.requests)
    report = await scheduler_of(world.bot).tick()
    assert sorted(o.status for o in report.outcomes.values()) == ["baseline", "baseline"], report
    liked = [r for r in world.sandbox.requests[asked:] if r.path.endswith("/liked_tweets")]
    # One read per account, each of its own likes (X answers 403 for another account's).
    assert sorted(r.path for r in liked) == sorted(
        f"/2/users/{seed.id}/liked_tweets" for seed in (COMMUNITY_MAPLE, COMMUNITY_HARBOR))
    assert all(r.status == 200 for r in liked)
    assert report.x_requests == len(world.sandbox.requests) - asked
