"""Delivering a digest run's message: the nonce, the run marker, and finding a run sent before a crash.

A run's message is built once (stored with the run) and every retry sends exactly it, with a nonce
derived from the run, so Discord drops a duplicate; a run older than Discord's nonce window is
looked for in the channel's recent history first.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import discord

from store.digests import PendingRun

log = logging.getLogger("likelens.digests")

# Discord drops a repeated nonce only for "a few minutes": an older pending run is looked for in
# the channel's recent history before it is sent again.
NONCE_TRUST_SECONDS = 240.0
HISTORY_SEARCH_LIMIT = 50
# A digest's channel: cached, or (a server of another shard's process) known by its id alone.
DigestChannel = discord.TextChannel | discord.PartialMessageable


def nonce_for(digest_id: int, run_id: int) -> str:
    """The message nonce of a run (Discord allows 25 characters): the same on every retry."""
    return f"d{digest_id}r{run_id}"[:25]



def run_marker(digest_id: int, run_number: int) -> str:
    """What a digest message shows of its run (its ordinal within the digest), to find it in history."""
    return f"digest #{digest_id} · run {run_number}"


def baseline_marker(digest_id: int) -> str:
    # A digest has one baseline ever: its id tells it apart.
    return f"(digest #{digest_id})"


def run_message(digest_id: int, run: PendingRun) -> tuple[str | None, discord.Embed | None]:
    """The run's message as sent (every retry sends exactly this): content and embed with the marker."""
    payload: dict[str, Any] = json.loads(run.payload)
    content: str | None = payload.get("content")
    embed = discord.Embed.from_dict(payload["embed"]) if payload.get("embed") else None
    if embed is not None:
        footer = embed.footer.text or ""
        marker = run_marker(digest_id, run.number)
        embed.set_footer(text=f"{marker} · {footer}" if footer else marker, icon_url=embed.footer.icon_url)
    elif content is not None:
        content = f"{content} {baseline_marker(digest_id)}"
    return content, embed


def is_run_message(message: discord.Message, digest_id: int, run: PendingRun) -> bool:
    """True when message is this run's (found in history after a crash)."""
    if run.kind == "baseline":
        return message.content.endswith(baseline_marker(digest_id))
    marker = run_marker(digest_id, run.number)
    return any((e.footer.text or "").startswith(marker) for e in message.embeds)



async def find_in_history(
    channel: DigestChannel, digest_id: int, pending: PendingRun, *, author_id: int | None = None,
) -> discord.Message | None:
    """The pending run's message if Discord has it already (sent before a crash), else None.

    author_id: the bot's user id, for a channel not in the cache (whose permissions only Discord knows).
    """
    if isinstance(channel, discord.TextChannel):
        me = channel.guild.me
        if not channel.permissions_for(me).read_message_history:
            return None
        author_id = me.id
    if author_id is None:
        return None
    try:
        async for message in channel.history(limit=HISTORY_SEARCH_LIMIT):
            if message.author.id == author_id and is_run_message(message, digest_id, pending):
                return message
    except (discord.HTTPException, aiohttp.ClientError, OSError):
        log.warning("Could not read channel %d's history for digest %d; sending again", channel.id, digest_id)
    return None


@dataclass(frozen=True, slots=True)
class SendFailed:
    """Why Discord did not take a run's message.

    `outage` (5xx, a 429 discord.py gave up on, no connection) delays the run: it stays pending and
    is sent again later, never counted against the digest. `refused` is for good (resending the
    same payload would fail forever); `gone_channel` and `forbidden` pause or disable the digest;
    `other` counts as one failed run.
    """

    kind: Literal["outage", "refused", "gone_channel", "forbidden", "other"]
    reason: str
    detail: str = ""


async def send_run(
    channel: DigestChannel, digest_id: int, pending: PendingRun, view: discord.ui.View | None,
) -> discord.Message | SendFailed:
    """Send the run's message (with its nonce): the message Discord took, or why it did not."""
    content, embed = run_message(digest_id, pending)
    options: dict[str, Any] = {"embed": embed} if embed is not None else {}
    if view is not None and embed is not None:
        options["view"] = view
    try:
        return await channel.send(
            content=content, nonce=nonce_for(digest_id, pending.id),
            allowed_mentions=discord.AllowedMentions.none(), **options,
        )
    except discord.Forbidden:
        return SendFailed("forbidden", "the permission to post")
    except discord.NotFound as missing:
        if missing.code == 10003:
            return SendFailed("gone_channel", "its channel was deleted")
        return SendFailed("other", f"Discord refused the message ({missing.status})")
    except discord.HTTPException as refused:
        reason = f"Discord refused the message ({refused.status})"
        if refused.status >= 500 or refused.status == 429:
            return SendFailed("outage", f"Discord is unavailable ({refused.status})")
        # 403/404 are handled above: any other 4xx refuses this payload for good.
        return SendFailed("refused", reason, refused.text[:200])
    except discord.RateLimited as limited:
        # discord.py raises this instead of waiting longer than its max_ratelimit_timeout.
        return SendFailed("outage", f"Discord rate-limits the channel for {limited.retry_after:.0f} s")
    except (aiohttp.ClientError, OSError):
        return SendFailed("outage", "the connection to Discord failed")
