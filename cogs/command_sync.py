"""Slash commands are synced to Discord only when the command tree changed since the last sync.

The hash of the tree (with the application and the target: global or a development server) is kept
in the store; `python bot.py --sync` forces a sync.

One process of a deployment syncs: with SHARD_COUNT set, the one running shard 0; otherwise the one
holding lease "command-sync" (store/leases.py) while it checks and syncs, given up afterwards (a
process starting meanwhile skips; one starting after finds the stored hash). The others log one line.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import discord

from store import leases
from store.meta import get_meta, set_meta

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens")

COMMAND_TREE_HASH_KEY = "command_tree_hash"
SYNC_LEASE = "command-sync"
# Long enough for a sync Discord answers slowly; a process killed mid-sync holds it no longer.
SYNC_LEASE_SECONDS = 120.0


def command_tree_payload(bot: LikesBot, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
    """The JSON `tree.sync(guild=guild)` would send."""
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]


async def sync_commands_if_changed(bot: LikesBot) -> bool:
    """Sync the command tree when its hash differs from the last synced one (or --sync), if this
    process is the deployment's one to sync."""
    shard_ids, shard_count = bot.settings.shard_ids, bot.settings.shard_count
    if shard_count is not None:
        if shard_ids is not None and 0 not in shard_ids:
            log.info("Command tree: the process running shard 0 syncs it; not syncing here (shards %s)",
                     ", ".join(map(str, shard_ids)))
            return False
        return await _sync_if_changed(bot)
    conn, holder = bot.store.conn, bot.instance_id
    if not await leases.acquire(conn, SYNC_LEASE, holder, now=bot.clock().timestamp(),
                                seconds=SYNC_LEASE_SECONDS):
        log.info("Command tree: another process (%s) is syncing it; not syncing here",
                 await leases.holder_of(conn, SYNC_LEASE, now=bot.clock().timestamp()) or "gone now")
        return False
    try:
        return await _sync_if_changed(bot)
    finally:
        await leases.release(conn, SYNC_LEASE, holder)


async def _sync_if_changed(bot: LikesBot) -> bool:
    guild = discord.Object(bot.settings.dev_guild_id) if bot.settings.dev_guild_id else None
    if guild is not None:
        bot.tree.copy_global_to(guild=guild)
    target = f"guild:{guild.id}" if guild else "global"
    payload = command_tree_payload(bot, guild)
    # The application is part of the key: a database reused with another bot token syncs again.
    digest = hashlib.sha256(
        json.dumps(
            {"application": bot.application_id, "target": target, "commands": payload}, sort_keys=True
        ).encode()
    ).hexdigest()
    if not bot.force_sync and await get_meta(bot.store.conn, COMMAND_TREE_HASH_KEY) == digest:
        log.info("Command tree unchanged since the last sync (%s): not syncing", target)
        return False
    try:
        await bot.tree.sync(guild=guild)
    except discord.HTTPException:
        log.exception("Syncing the command tree (%s) failed; the old commands stay in place", target)
        return False
    await set_meta(bot.store.conn, COMMAND_TREE_HASH_KEY, digest)
    bot.synced_this_start = True
    log.info("Synced %d commands (%s)", len(payload), target)
    return True
