"""Slash commands are synced to Discord only when the command tree changed since the last sync.

The hash of the tree (with the application and the target: global or a development server) is kept
in the store; `python bot.py --sync` forces a sync.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import discord

from store.meta import get_meta, set_meta

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens")

COMMAND_TREE_HASH_KEY = "command_tree_hash"


def command_tree_payload(bot: LikesBot, guild: discord.abc.Snowflake | None = None) -> list[dict[str, Any]]:
    """The JSON `tree.sync(guild=guild)` would send."""
    return [command.to_dict(bot.tree) for command in bot.tree.get_commands(guild=guild)]


async def sync_commands_if_changed(bot: LikesBot) -> bool:
    """Sync the command tree when its hash differs from the last synced one (or --sync)."""
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
