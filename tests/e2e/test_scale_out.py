"""The scale-out proof (issue 13): three `python bot.py` processes on one PostgreSQL, thirty servers
over three shards (tests/e2e/scale_out_support.py starts them).

- every server's slash command is answered once, by the process whose shard holds the server;
- 300 digests due over a few seconds are posted exactly once each, with one activity stream
  connection in all and no more likers reads than one process would make;
- the same when one process is `kill -9`ed while it holds claimed digests: the others post them
  once its claims' lease has run out.

Required where PostgreSQL is (LIKELENS_REQUIRE_POSTGRES=1 in .ci/run), skipped with one line elsewhere.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from store import digests as digest_store
from store.db import Store
from tests.e2e.scale_out_support import (
    FAST_DIGESTS,
    Fleet,
    FleetEmulator,
    FleetProcess,
    digest_messages,
    digest_of,
    digest_sends,
    fleet,
    insert_post_digests,
    owner_posts_with_likes,
    thirty_servers,
    until,
)
from tests.emulator import Guild, Interaction, Member
from tests.postgres import create_schema, drop_schema
from tests.spec.xspec import exchange_problems
from xapi import sandbox
from xapi.sandbox import XSandbox

LISTED_DIGEST = re.compile(r"\*\*#(\d+)\*\*")
SUBJECTS = 30
DIGESTS_PER_SERVER = 10
# How long the digests' due times are spread over, from a moment just after insertion.
DUE_SPREAD_SECONDS = 5.0


@pytest_asyncio.fixture
async def database_url() -> AsyncIterator[str]:
    """A schema of the test's own on the test PostgreSQL (the test skips with one line without one)."""
    url, schema = await create_schema()
    try:
        yield url
    finally:
        await drop_schema(schema)


@pytest_asyncio.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """The test's own connection to the fleet's database (migrated before any process starts)."""
    opened = await Store.connect(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture
async def discord_() -> AsyncIterator[FleetEmulator]:
    # Three bots and the emulator share two noisy cores: the 3 s deadline is not what this proves.
    async with FleetEmulator(callback_deadline=None) as server:
        yield server


@pytest_asyncio.fixture
async def x() -> AsyncIterator[XSandbox]:
    """The X sandbox every process reads; its traffic is checked against X's spec at the end."""
    # Budgets are not what this proves: 600 digest runs must not wait for X's 15-minute window.
    server = XSandbox(rate_limit=100_000)
    await server.start()
    try:
        yield server
    finally:
        await server.close()
    problems = exchange_problems(server.exchanges, requests=True)
    assert not problems, "\n".join(problems[:20])


def owner_of(guild: Guild) -> Member:
    return next(m for m in guild.members if m.user.id == guild.owner_id)


def answered(emulator: FleetEmulator, interaction: Interaction) -> bool:
    message_id = interaction.response_message_id
    return message_id is not None and not emulator.messages[message_id].loading


async def all_posted(emulator: FleetEmulator, guilds: list[Guild], ids: list[int], fleet_: Fleet) -> None:
    """Wait until every digest of ids shows a message (and a moment longer, for any second one)."""
    wanted = set(ids)

    def done() -> bool:
        return wanted <= set(digest_messages(emulator, guilds))

    deadline = time.monotonic() + 60
    while not done():
        if time.monotonic() > deadline:
            missing = sorted(wanted - set(digest_messages(emulator, guilds)))
            raise AssertionError(f"{len(missing)} of {len(ids)} digests never posted, e.g. {missing[:10]}; "
                                 f"logs:\n{fleet_.logs[-6000:]}")
        await asyncio.sleep(0.1)
    # A digest run twice would post its second message within a tick or two of the first.
    await asyncio.sleep(2.5)


def posted_once(emulator: FleetEmulator, guilds: list[Guild], ids: list[int]) -> tuple[list[int], list[int]]:
    """(digests with no message, digests with more than one), of ids."""
    shown = digest_messages(emulator, guilds)
    return [i for i in ids if shown[i] == 0], [i for i in ids if shown[i] > 1]


async def test_every_servers_slash_command_is_answered_once_by_the_process_of_its_shard(
    discord_: FleetEmulator, x: XSandbox, store: Store, database_url: str, tmp_path: Path,
) -> None:
    guilds = thirty_servers(discord_)
    # One digest per server, so each answer shows whose digests it read.
    posts = owner_posts_with_likes(x, 1)
    ids = await insert_post_digests(store, guilds, posts, per_guild=1, due_in=86400, spread=0)
    async with fleet(discord_, x, database_url, tmp_path) as running:
        sent: list[tuple[Guild, Interaction]] = []
        for guild in guilds:
            interaction = discord_.build_slash("digest list", {}, member=owner_of(guild), guild=guild)
            await discord_.send_interaction(interaction)
            sent.append((guild, interaction))
        try:
            await discord_.wait_until(lambda: all(answered(discord_, i) for _, i in sent), within=30)
        except AssertionError:
            unanswered = [g.name for g, i in sent if not answered(discord_, i)]
            raise AssertionError(f"/digest list got no answer in {len(unanswered)} of 30 servers "
                                 f"({unanswered[:5]}…); logs:\n{running.logs[-6000:]}") from None
        # A second answer from another process would come within this.
        await asyncio.sleep(1.0)
        for (guild, interaction), digest_id in zip(sent, ids, strict=True):
            expected = running.process_of(guild)
            assert discord_.callback_senders.get(interaction.id) == [expected.pid], (
                f"{guild.name} (shard {expected.shard_ids}): callbacks from "
                f"{discord_.callback_senders.get(interaction.id)}, expected only process {expected.pid}"
            )
            message = discord_.messages[interaction.response_message_id or ""]
            listed = {int(n) for n in LISTED_DIGEST.findall(str(message.embed.get("description", "")))}
            assert listed == {digest_id}, f"{guild.name}'s /digest list shows {listed}"
    assert "Traceback" not in running.logs


async def test_three_hundred_digests_post_once_each_and_no_more_likers_reads_than_one_process_makes(
    discord_: FleetEmulator, x: XSandbox, store: Store, database_url: str, tmp_path: Path,
) -> None:
    guilds = thirty_servers(discord_)
    posts = owner_posts_with_likes(x, SUBJECTS)
    async with fleet(discord_, x, database_url, tmp_path, variables=FAST_DIGESTS) as running:
        before = len(x.requests)
        ids = await insert_post_digests(store, guilds, posts, per_guild=DIGESTS_PER_SERVER,
                                        due_in=1, spread=DUE_SPREAD_SECONDS)
        await all_posted(discord_, guilds, ids, running)
        missing, doubled = posted_once(discord_, guilds, ids)
        assert (missing, doubled) == ([], []), f"missing {missing[:10]}, posted twice {doubled[:10]}"
        # No process crashed: each digest's message was asked for once (a nonce hides no second run).
        sends = digest_sends(discord_)
        assert [i for i in ids if sends[i] != 1] == []
        # One process reads each post's likers once: all the digests of a post are due at one moment.
        likers_reads = [r for r in list(x.requests)[before:]
                        if r.path.endswith("/liking_users") and r.path.split("/")[3] in posts]
        assert len(likers_reads) <= SUBJECTS, (
            f"{len(likers_reads)} liking_users reads for {SUBJECTS} posts (one process: {SUBJECTS})")
    assert "Traceback" not in running.logs


async def holder_claims(store: Store, process: FleetProcess) -> set[int]:
    """Digests claimed now by process (its claims' holder is its instance id, host:pid:random)."""
    rows = await store.conn.execute_fetchall(
        "SELECT id, claimed_by FROM digests WHERE claimed_by IS NOT NULL")
    return {int(i) for i, holder in rows if f":{process.pid}:" in str(holder)}


async def test_a_process_killed_while_holding_claims_leaves_no_digest_unposted_or_doubled(
    discord_: FleetEmulator, x: XSandbox, store: Store, database_url: str, tmp_path: Path,
) -> None:
    guilds = thirty_servers(discord_)
    posts = owner_posts_with_likes(x, SUBJECTS)
    async with fleet(discord_, x, database_url, tmp_path, variables=FAST_DIGESTS) as running:
        victim = running.processes[1]
        ids = await insert_post_digests(store, guilds, posts, per_guild=DIGESTS_PER_SERVER,
                                        due_in=1, spread=DUE_SPREAD_SECONDS)
        # Mid-tick: some digests posted, and the victim holds claims of digests it has not posted yet.
        deadline = time.monotonic() + 30
        while True:
            shown = digest_messages(discord_, guilds)
            unposted_claims = {i for i in await holder_claims(store, victim) if shown[i] == 0}
            if shown and unposted_claims:
                break
            assert time.monotonic() < deadline, (
                f"process {victim.shard_ids} never held a claim of an unposted digest "
                f"({sum(shown.values())} digest messages for {len(ids)} digests); "
                f"logs:\n{running.logs[-4000:]}")
            await asyncio.sleep(0.05)
        running.kill(victim)
        await asyncio.wait_for(victim.bot.process.wait(), 10)
        await all_posted(discord_, guilds, ids, running)
        missing, doubled = posted_once(discord_, guilds, ids)
        assert (missing, doubled) == ([], []), f"missing {missing[:10]}, posted twice {doubled[:10]}"
        # The claims it held when it died were taken over: each of those digests shows one message.
        shown = digest_messages(discord_, guilds)
        assert {i: shown[i] for i in unposted_claims} == dict.fromkeys(unposted_claims, 1)
    survivors = [p for p in running.processes if p is not victim]
    assert all("Traceback" not in p.bot.text for p in survivors)


async def test_three_processes_read_one_activity_stream_and_post_each_live_like_once(
    discord_: FleetEmulator, x: XSandbox, store: Store, database_url: str, tmp_path: Path,
) -> None:
    guilds = thirty_servers(discord_)
    live_channel = next(c for c in guilds[0].channels if c.name == "digests")
    digest = await digest_store.add_digest(
        store.conn, guild_id=int(guilds[0].id), channel_id=int(live_channel.id),
        creator_id=int(guilds[0].owner_id), subject_kind="post", subject_id=sandbox.POST_7_LIKES,
        every_seconds=0, now=time.time(), account_id=sandbox.OWNER_ID, due=False,
    )
    async with fleet(discord_, x, database_url, tmp_path) as running:
        await until(lambda: x.streams.open_streams > 0 and bool(discord_.messages_in(live_channel)),
                    "the activity stream and the live digest's first message", running)
        x.add_likers(sandbox.POST_7_LIKES, 2)

        def likes_posted() -> bool:
            return any(digest_of(m) == digest.id for m in discord_.messages_in(live_channel))

        await until(likes_posted, "the two new likes in the live digest", running)
        # Another reader of the stream would post the same likes within its own flush (a second or two).
        await asyncio.sleep(2.5)
        assert x.streams.connections == 1, f"{x.streams.connections} activity stream connections"
        assert x.streams.open_streams == 1
        assert len(x.subscriptions.matching("like.create", sandbox.OWNER_ID, "inbound")) == 1
        messages = discord_.messages_in(live_channel)
        baselines = [m for m in messages if m.content.endswith(f"(digest #{digest.id})")]
        runs = [m for m in messages if digest_of(m) == digest.id]
        assert (len(baselines), len(runs)) == (1, 1), [m.content or m.embeds for m in messages]
        assert str(runs[0].embeds[0].get("title", "")).startswith("2 new likers")
    assert "Traceback" not in running.logs
