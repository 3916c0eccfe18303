"""REST routes of interactions: the callback, follow-ups and the token's webhook messages.

As on Discord: the callback must come within `callback_deadline` (3 s) of the interaction, else
404 Unknown Interaction (10062); the token then works for 15 minutes (follow-ups, GET/PATCH/DELETE
of its messages), after which every request with it answers 401 Invalid Webhook Token (50027).
A token reaches only its own interaction's messages (@original, its follow-ups): any other message
answers 404 Unknown Message (10008), as does an unknown or deleted one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from tests.emulator.messages import EPHEMERAL, LOADING, apply_edit, new_message
from tests.emulator.replies import DiscordError, json_response, recorded_of
from tests.emulator.state import Interaction, Message

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

TOKEN_LIFETIME_SECONDS = 15 * 60.0


def interaction_for_token(emulator: DiscordEmulator, request: web.Request) -> Interaction:
    """The interaction whose token the webhook route names; 404 if unknown, 401 once expired."""
    token = request.match_info["webhook_token"]
    found = next((i for i in emulator.interactions.values() if i.token == token), None)
    if found is None or request.match_info["webhook_id"] != emulator.application_id:
        raise DiscordError(404, 10015, "Unknown Webhook")
    if emulator.clock.now() - found.created_at > TOKEN_LIFETIME_SECONDS:
        raise DiscordError(401, 50027, "Invalid Webhook Token")
    return found


async def callback(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recorded = recorded_of(request)
    interaction = emulator.interactions.get(request.match_info["interaction_id"])
    if interaction is None or interaction.token != request.match_info["interaction_token"]:
        raise DiscordError(404, 10062, "Unknown interaction")
    deadline = emulator.callback_deadline
    if deadline is not None and emulator.clock.now() - interaction.created_at > deadline:
        raise DiscordError(404, 10062, "Unknown interaction")
    if interaction.acknowledged:
        raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
    body = recorded.json or {}
    kind = int(body.get("type", 0))
    data = body.get("data") or {}
    message: Message | None = None
    if kind == 4:
        message = new_message(emulator, interaction.channel_id, data, recorded.files, interaction=interaction)
    elif kind == 5:
        message = new_message(
            emulator, interaction.channel_id, {}, {}, interaction=interaction,
            flags=LOADING | (int(data.get("flags") or 0) & EPHEMERAL),
        )
    elif kind in (6, 7):
        if interaction.source_message_id is None:
            raise DiscordError(400, 50035, "Invalid Form Body: update types need a component interaction")
        message = emulator.messages[interaction.source_message_id]
        if kind == 7:
            apply_edit(message, data, recorded.files)
    interaction.callback = body
    if message is not None:
        interaction.response_message_id = message.id
    if "with_response" not in request.query:
        return web.Response(status=204)
    return json_response({
        "interaction": {
            "id": interaction.id, "type": interaction.type, "activity_instance_id": None,
            "response_message_id": message.id if message else None,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(message and message.ephemeral),
        },
        "resource": {"type": kind, **({"message": message.data} if message else {})},
    })


def _own_message(emulator: DiscordEmulator, request: web.Request) -> Message:
    interaction = interaction_for_token(emulator, request)
    message_id = request.match_info["message_id"]
    if message_id == "@original":
        message_id = interaction.response_message_id or ""
    own = {interaction.response_message_id, *interaction.followup_ids}
    message = emulator.messages.get(message_id)
    if message is None or message.deleted or message_id not in own:
        raise DiscordError(404, 10008, "Unknown Message")
    return message


async def followup(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recorded = recorded_of(request)
    interaction = interaction_for_token(emulator, request)
    if not interaction.acknowledged:
        raise DiscordError(404, 10015, "Unknown Webhook")
    message = new_message(
        emulator, interaction.channel_id, recorded.json or {}, recorded.files, interaction=interaction
    )
    interaction.followup_ids.append(message.id)
    if request.query.get("wait") in ("1", "true"):
        return json_response(message.data)
    return web.Response(status=204)


async def get_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    return json_response(_own_message(emulator, request).data)


async def edit_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    recorded = recorded_of(request)
    message = _own_message(emulator, request)
    apply_edit(message, recorded.json or {}, recorded.files)
    return json_response(message.data)


async def delete_message(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    _own_message(emulator, request).deleted = True
    return web.Response(status=204)
