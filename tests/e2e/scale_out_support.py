"""A fleet of `python bot.py` processes on one PostgreSQL: what the scale-out proof and
bench/scale_out.py run.

One Discord emulator and one X sandbox in the test's own process; thirty servers over three shards;
one PostgreSQL schema (DATABASE_URL) and one LIKELENS_SECRET_KEY for every process; each process
runs SHARD_COUNT=3 with its own SHARD_IDS, its own data folder (its lock and alive file) and a free
WEB_PORT. FleetEmulator notes which process sent each interaction callback (the process whose
socket has the callback's source port), so a test can tell which process answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web
from cryptography.fernet import Fernet

from store import digests as digest_store
from store.db import Store
from store.transactions import transaction
from tests.e2e.test_process import OAUTH1, BotProcess, bot_process, child_env
from tests.emulator import DiscordEmulator, Guild, Message
from tests.emulator.sharding import shard_of
from xapi import sandbox
from xapi.sandbox import XSandbox

SHARD_COUNT = 3
GUILDS_PER_SHARD = 10
READY_LINE = "Ready as LikeLens"
# Every digest message's footer starts with its run marker (digests/delivery.py run_marker).
RUN_MARKER = re.compile(r"^digest #(\d+) · run (\d+)")
# Digest ticks and claim leases much shorter than in production, so a test sees several ticks and a
# lease run out within seconds (scale_out_site/sitecustomize.py makes them the scheduler's defaults).
FAST_DIGESTS = {"LIKELENS_DIGEST_TICK_SECONDS": "1", "LIKELENS_DIGEST_CLAIM_SECONDS": "4"}
# The fleet's site: the emulator's sitecustomize plus those knobs (the repository for its imports).
FLEET_SITE = Path(__file__).resolve().parent / "scale_out_site"
REPO = Path(__file__).resolve().parents[2]


class FleetEmulator(DiscordEmulator):
    """The Discord emulator, noting for each interaction the process id of every callback's sender."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # The fleet's process ids; a callback from a socket of none of them is noted as None.
        self.process_ids: set[int] = set()
        self.callback_senders: dict[str, list[int | None]] = {}

    async def _callback(self, request: web.Request) -> web.Response:
        sender = self._sender_of(request)
        self.callback_senders.setdefault(request.match_info["interaction_id"], []).append(sender)
        return await super()._callback(request)

    async def __aenter__(self) -> FleetEmulator:
        await self.start()
        return self

    def _sender_of(self, request: web.Request) -> int | None:
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        if not peer:
            return None
        return process_connected_from(self.process_ids, int(peer[1]), self.port)


def process_connected_from(process_ids: Iterable[int], local_port: int, remote_port: int) -> int | None:
    """The process (of process_ids) with a TCP connection from local_port to remote_port (Linux
    reuses an ephemeral port for connections to other destinations: the pair tells them apart)."""
    for pid in process_ids:
        with contextlib.suppress(psutil.Error):
            for connection in psutil.Process(pid).net_connections(kind="tcp"):
                if (connection.laddr and connection.laddr.port == local_port
                        and connection.raddr and connection.raddr.port == remote_port):
                    return pid
    return None


def thirty_servers(emulator: DiscordEmulator) -> list[Guild]:
    """GUILDS_PER_SHARD servers on each of the SHARD_COUNT shards (the emulator's default one goes)."""
    emulator.guilds.remove(emulator.guild)
    guilds = [emulator.add_guild(f"Server {shard}-{n}", shard=(shard, SHARD_COUNT))
              for n in range(GUILDS_PER_SHARD) for shard in range(SHARD_COUNT)]
    emulator.guild = guilds[0]
    emulator.sharding.recommended_shards = SHARD_COUNT
    return guilds


@dataclass
class FleetProcess:
    """One bot process of the fleet and the shards it runs."""

    shard_ids: tuple[int, ...]
    bot: BotProcess
    folder: Path

    @property
    def pid(self) -> int:
        return self.bot.process.pid

    def serves(self, guild: Guild) -> bool:
        """Whether guild's events come to this process (an unsharded one gets every guild's)."""
        return not self.shard_ids or shard_of(guild.id, SHARD_COUNT) in self.shard_ids


@dataclass
class Fleet:
    """The running processes, in the order they were started."""

    emulator: FleetEmulator
    processes: list[FleetProcess] = field(default_factory=list)

    def process_of(self, guild: Guild) -> FleetProcess:
        """The process whose shards hold guild."""
        return next(p for p in self.processes if p.serves(guild))

    def kill(self, process: FleetProcess) -> None:
        """kill -9: no clean-up of any kind (claims, leases and connections are left as they are)."""
        process.bot.process.send_signal(signal.SIGKILL)

    @property
    def logs(self) -> str:
        return "\n".join(f"--- process {p.shard_ids}:\n{p.bot.text}" for p in self.processes)


def fleet_env(
    emulator: DiscordEmulator, x: XSandbox, database_url: str | None, secret_key: str, *, folder: Path,
    shard_ids: Sequence[int], **variables: str,
) -> dict[str, str]:
    """The environment of one fleet process (nothing else of the test's environment leaks in):
    no shard ids runs it unsharded, no database_url on its own SQLite file."""
    shared = {"DATABASE_URL": database_url} if database_url is not None else {}
    if shard_ids:
        shared |= {"SHARD_COUNT": str(SHARD_COUNT), "SHARD_IDS": ",".join(str(s) for s in shard_ids)}
    return child_env(
        emulator, DISCORD_TOKEN=emulator.token, **OAUTH1, X_BEARER_TOKEN=sandbox.SANDBOX_BEARER_TOKEN,
        X_API_BASE_URL=x.base_url, LIKELENS_SECRET_KEY=secret_key, DATABASE_PATH=str(database_path(folder)),
        LOG_LEVEL="INFO", PYTHONPATH=f"{FLEET_SITE}{os.pathsep}{REPO}", **shared, **variables,
    )


def database_path(folder: Path) -> Path:
    """A fleet process's SQLite file (it holds its lock and alive file beside it on PostgreSQL too)."""
    return folder / "data" / "likelens.db"


@contextlib.asynccontextmanager
async def fleet(
    emulator: FleetEmulator, x: XSandbox, database_url: str | None, root: Path, *,
    shard_groups: Sequence[Sequence[int]] = ((0,), (1,), (2,)), variables: Mapping[str, str] | None = None,
) -> AsyncIterator[Fleet]:
    """One bot process per group of shards, all on database_url; yields once every one is READY."""
    secret_key = Fernet.generate_key().decode()
    running = Fleet(emulator)
    async with contextlib.AsyncExitStack() as stack:
        for shard_ids in shard_groups:
            folder = root / f"process-{'-'.join(str(s) for s in shard_ids) or 'all'}"
            folder.mkdir(parents=True)
            env = fleet_env(emulator, x, database_url, secret_key, folder=folder, shard_ids=shard_ids,
                            **(variables or {}))
            bot = await stack.enter_async_context(bot_process(folder, env))
            running.processes.append(FleetProcess(tuple(shard_ids), bot, folder))
            emulator.process_ids.add(bot.process.pid)
        for process in running.processes:
            await process.bot.wait_for_log(READY_LINE, within=60)
        yield running
        for process in running.processes:
            if process.bot.process.returncode is None:
                process.bot.process.send_signal(signal.SIGTERM)
        await asyncio.gather(*(stopped(p.bot) for p in running.processes))


async def stopped(bot: BotProcess) -> None:
    """Wait for a process the fleet asked to stop (or that was killed) and for its log."""
    with contextlib.suppress(ProcessLookupError):
        await asyncio.wait_for(bot.process.wait(), 30)
    await bot.stop()


async def until(predicate: Callable[[], bool], what: str, running: Fleet, within: float = 30.0) -> None:
    """Poll predicate (the sandbox's changes wake no emulator waiter); on timeout, the fleet's logs."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}; "
                                 f"logs:\n{running.logs[-6000:]}")
        await asyncio.sleep(0.05)


def owner_posts_with_likes(x: XSandbox, count: int, likes: int = 3) -> list[str]:
    """count new posts of the sandbox's owner account, each liked by `likes` new accounts."""
    import random  # noqa: PLC0415 (the sandbox's own seeded generator type)

    now = datetime.fromtimestamp(x.clock(), UTC)
    rng = random.Random(20261201)
    posts = [x.world.new_post(rng, sandbox.OWNER_ID, now).id for _ in range(count)]
    for post_id in posts:
        x.add_likers(post_id, likes)
    return posts


async def insert_post_digests(
    store: Store, guilds: Sequence[Guild], posts: Sequence[str], *, per_guild: int, due_in: float,
    spread: float, channel: str = "digests", every_seconds: int = 3600,
) -> list[int]:
    """per_guild hourly digests in each guild's channel, of per_guild different posts, their
    baselines done (every liker of the post is new to them). They are scheduled together once all
    exist: all digests of one post due at the same moment, the posts' moments spread evenly over
    `spread` seconds from due_in seconds after that (a post's digests never trickle in one by one)."""
    ids: list[tuple[int, int]] = []
    created = time.time()
    for g, guild in enumerate(guilds):
        channel_id = int(next(c.id for c in guild.channels if c.name == channel))
        for k in range(per_guild):
            p = (g + k) % len(posts)
            digest = await digest_store.add_digest(
                store.conn, guild_id=int(guild.id), channel_id=channel_id, creator_id=int(guild.owner_id),
                subject_kind="post", subject_id=posts[p], every_seconds=every_seconds, now=created,
                account_id=sandbox.OWNER_ID, due=False,
            )
            ids.append((digest.id, p))
    async with transaction(store.conn):
        # A baseline done earlier, with nothing seen: the post's likers are the run's new likes.
        await store.conn.execute(
            "UPDATE digests SET baseline_done = 1 WHERE next_run_at IS NULL AND every_seconds > 0")
        due_from = time.time() + due_in
        for digest_id, p in ids:
            await digest_store.set_schedule(
                store.conn, digest_id, next_run_at=due_from + spread * p / len(posts))
    return [digest_id for digest_id, _ in ids]


def digest_messages(emulator: DiscordEmulator, guilds: Iterable[Guild]) -> Counter[int]:
    """How many messages of each digest the servers' channels show (by the run marker in the footer)."""
    counts: Counter[int] = Counter()
    for guild in guilds:
        for channel in guild.channels:
            for message in emulator.messages_in(channel):
                digest_id = digest_of(message)
                if digest_id is not None:
                    counts[digest_id] += 1
    return counts


def digest_of(message: Message) -> int | None:
    for embed in message.embeds:
        found = RUN_MARKER.match(str((embed.get("footer") or {}).get("text", "")))
        if found:
            return int(found.group(1))
    return None


def digest_sends(emulator: DiscordEmulator) -> Counter[int]:
    """How many times a process asked Discord to post each digest's message (retries included)."""
    counts: Counter[int] = Counter()
    for request in emulator.requests_to("POST", "/channels/{channel_id}/messages"):
        body = request.json if isinstance(request.json, dict) else {}
        for embed in body.get("embeds") or []:
            found = RUN_MARKER.match(str((embed.get("footer") or {}).get("text", "")))
            if found:
                counts[int(found.group(1))] += 1
    return counts
