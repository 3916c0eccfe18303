"""The command tree is synced by one process of a deployment: the holder of lease "command-sync" (two
processes starting together on one database, the first one's sync still under way at Discord when
the second starts), or, with SHARD_COUNT set, the process that runs shard 0; the others skip it with
one line. (Named test_live_* so it runs on both engines, as the deployment's other leases do.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from config import Settings
from tests.botharness import discord_pointed_at, emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from xapi.sandbox import XSandbox

GLOBAL_SYNC = ("PUT", "/applications/{application_id}/commands")


@contextlib.asynccontextmanager
async def started_in_background(
    emulator: DiscordEmulator, settings: Settings,
) -> AsyncIterator[asyncio.Event]:
    """A bot starting in a task of its own; the event is set once it is READY."""
    ready, done = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with running_bot(emulator, settings):
            ready.set()
            await done.wait()

    task = asyncio.create_task(run())
    try:
        yield ready
    finally:
        done.set()
        await task


async def test_two_processes_starting_together_sync_the_command_tree_once(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    release = emulator.hold_next(*GLOBAL_SYNC)
    with discord_pointed_at(emulator):
        async with started_in_background(emulator, settings) as first_ready:
            await emulator.wait_until(lambda: len(emulator.requests_to(*GLOBAL_SYNC)) == 1,
                                      what="the first process's sync at Discord")
            # The first sync has not finished (nor stored its tree's hash) when the second process starts.
            with caplog.at_level(logging.INFO, logger="likelens"):
                async with running_bot(emulator, settings) as second:
                    assert not second.synced_this_start
            release.set()
            await asyncio.wait_for(first_ready.wait(), 15)
    assert len(emulator.requests_to(*GLOBAL_SYNC)) == 1
    skipped = [r.getMessage() for r in caplog.records if "another process" in r.getMessage()]
    assert len(skipped) == 1 and "not syncing here" in skipped[0]


async def test_with_shards_only_the_process_running_shard_0_syncs(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    base = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db", shard_count=2)
    with caplog.at_level(logging.INFO, logger="likelens"):
        async with running_bot(emulator, _shards(base, 1), force_sync=True) as other:
            assert not other.synced_this_start
    assert emulator.requests_to(*GLOBAL_SYNC) == []
    assert any("the process running shard 0 syncs" in r.getMessage() for r in caplog.records)
    async with running_bot(emulator, _shards(base, 0)) as first:
        assert first.synced_this_start
    assert len(emulator.requests_to(*GLOBAL_SYNC)) == 1


def _shards(settings: Settings, *shard_ids: int) -> Settings:
    return dataclasses.replace(settings, shard_ids=shard_ids)
