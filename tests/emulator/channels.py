"""REST routes of channels and DMs: messages sent, listed, fetched, edited and deleted by the bot.

As on Discord: an ephemeral message lives only in its interaction's webhook, so the channel routes
neither list nor find it (404 Unknown Message, 10008); the bot edits only its own messages (403,
50005) and deletes another's only with Manage Messages; history leaves out `nonce`; a repeated
nonce with `enforce_nonce` returns the first message instead of creating a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from aiohttp import web

from tests.emulator.messages import apply_edit, new_message
from tests.emulator.replies import DiscordError, json_response, recorded_of
from tests.emulator.state import Channel, Message, new_snowflake

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

NONCE_WINDOW_SECONDS = 300.0


def channel_or_404(emulator: DiscordEmulator, channel_id: str) -> Channel:
    channel = emulator.find_channel(channel_id)
    if channel is None:
        raise DiscordError(404, 10003, "Unknown Channel")
    return channel


def require(emulator: DiscordEmulator, channel: Channel, needed: discord.Permissions) -> None:
    """403 Missing Access / Missing Permissions unless the bot has `needed` in channel."""
    if channel.guild_id is None:
        return
    guild = next(g for g in emulator.guilds if g.id == channel.guild_id)
    bot_member = guild.member(emulator.bot_user.id)
    assert bot_member is not None
    have = guild.permissions_in(bot_member, channel)
    if not have.view_channel:
        raise DiscordError(403, 50001, "Missing Access")
    if needed.value & ~have.value:
        raise DiscordError(403, 50013, "Missing Permissions")


async def get_channel(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    return json_response(channel_or_404(emulator, request.match_info["channel_id"]).to_json())


async def create_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recorded = recorded_of(request)
    channel = channel_or_404(emulator, request.match_info["channel_id"])
    body = recorded.json or {}
    needed = discord.Permissions(send_messages=True)
    needed.embed_links = bool(body.get("embeds"))
    needed.attach_files = bool(recorded.files)
    require(emulator, channel, needed)
    if channel.type == 1 and channel.recipients and channel.recipients[0].id in emulator.closed_dms:
        raise DiscordError(403, 50007, "Cannot send messages to this user")
    nonce = body.get("nonce")
    now = emulator.clock.now()
    if nonce is not None and body.get("enforce_nonce"):
        # Same author + nonce within minutes: Discord returns the first message, creates none.
        seen = emulator.nonces.get((emulator.bot_user.id, str(nonce)))
        if seen is not None and now - seen[0] < NONCE_WINDOW_SECONDS:
            first = emulator.messages.get(seen[1])
            if first is not None:
                return json_response(first.data)
    message = new_message(emulator, channel.id, body, recorded.files)
    if nonce is not None:
        emulator.nonces[(emulator.bot_user.id, str(nonce))] = (now, message.id)
    return json_response(message.data)


async def list_messages(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    """Channel history, newest first (`limit`, default 50, at most 100), as Discord answers it."""
    channel = channel_or_404(emulator, request.match_info["channel_id"])
    require(emulator, channel, discord.Permissions(read_message_history=True))
    limit = max(1, min(100, int(request.query.get("limit") or 50)))
    before = int(request.query.get("before") or 0)
    found = [m for m in emulator.history(channel) if not before or int(m.id) < before]
    found.sort(key=lambda m: int(m.id), reverse=True)
    # Discord leaves `nonce` out of history: only the create answer and MESSAGE_CREATE carry it.
    return json_response([{k: v for k, v in m.data.items() if k != "nonce"} for m in found[:limit]])


def _channel_message(emulator: DiscordEmulator, request: web.Request) -> Message:
    channel_or_404(emulator, request.match_info["channel_id"])
    message = emulator.messages.get(request.match_info["message_id"])
    if (
        message is None or message.deleted or message.ephemeral
        or message.channel_id != request.match_info["channel_id"]
    ):
        raise DiscordError(404, 10008, "Unknown Message")
    return message


async def get_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    return json_response(_channel_message(emulator, request).data)


async def edit_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recorded = recorded_of(request)
    message = _channel_message(emulator, request)
    if message.author_id != emulator.bot_user.id:
        raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
    apply_edit(message, recorded.json or {}, recorded.files)
    return json_response(message.data)


async def delete_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    message = _channel_message(emulator, request)
    if message.author_id != emulator.bot_user.id:
        channel = channel_or_404(emulator, message.channel_id)
        require(emulator, channel, discord.Permissions(manage_messages=True))
    message.deleted = True
    return web.Response(status=204)


async def create_dm(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recipient_id = str((recorded_of(request).json or {}).get("recipient_id"))
    user = emulator.users.get(recipient_id)
    if user is None:
        raise DiscordError(400, 50033, "Invalid Recipient(s)")
    existing = next((c for c in emulator.dm_channels.values() if c.recipients[0].id == user.id), None)
    channel = existing or Channel(new_snowflake(), "", type=1, recipients=[user])
    emulator.dm_channels[channel.id] = channel
    return json_response(channel.to_json())
