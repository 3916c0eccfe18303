"""Messages as Discord builds and edits them: JSON, attachments, embeds, the loading flag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.emulator.state import Interaction, Message, User, iso_now, new_snowflake

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator

EPHEMERAL, LOADING = 64, 128


def new_message(
    emulator: DiscordEmulator, channel_id: str, payload: dict[str, Any], files: dict[str, bytes], *,
    interaction: Interaction | None = None, flags: int = 0, author: User | None = None,
) -> Message:
    """Store a new message in channel_id (by the bot unless author is given) and return it."""
    message_id = new_snowflake()
    channel = emulator.find_channel(channel_id)
    data: dict[str, Any] = {
        "id": message_id, "channel_id": channel_id, "author": (author or emulator.bot_user).to_json(),
        "content": payload.get("content") or "", "timestamp": iso_now(), "edited_timestamp": None,
        "tts": bool(payload.get("tts")), "mention_everyone": False, "mentions": [], "mention_roles": [],
        "attachments": attachments(files), "embeds": embeds(payload.get("embeds")),
        "components": payload.get("components") or [], "pinned": False, "type": 0,
        "flags": flags | int(payload.get("flags") or 0),
    }
    if channel is not None and channel.guild_id:
        data["guild_id"] = channel.guild_id
    if payload.get("nonce") is not None:
        data["nonce"] = payload["nonce"]
    if interaction is not None:
        data.update(
            type=20 if interaction.type == 2 else 19, application_id=emulator.application_id,
            webhook_id=emulator.application_id,
            interaction_metadata={"id": interaction.id, "type": interaction.type,
                                  "user": interaction.payload["member"]["user"]},
        )
    message = Message(data, files, interaction_id=interaction.id if interaction else None)
    emulator.messages[message_id] = message
    return message


def embeds(found: Any) -> list[dict[str, Any]]:
    return [{"type": "rich", **e} for e in found or []]


def attachments(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        {"id": new_snowflake(), "filename": name, "size": len(content),
         "url": f"https://cdn.discordapp.invalid/{name}", "proxy_url": f"https://media.discordapp.invalid/{name}",
         "content_type": "text/csv" if name.endswith(".csv") else "application/octet-stream"}
        for name, content in files.items()
    ]


def apply_edit(message: Message, payload: dict[str, Any], files: dict[str, bytes]) -> None:
    """Apply an edit: fields present replace the old ones; new files are attached."""
    data = message.data
    for key in ("content", "components"):
        if key in payload:
            data[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
    if "embeds" in payload:
        data["embeds"] = embeds(payload["embeds"])
    if "attachments" in payload or files:
        keep = {str(a.get("id")) for a in payload.get("attachments") or []}
        kept = [a for a in data.get("attachments", []) if str(a["id"]) in keep]
        old_files = message.files
        message.files = {a["filename"]: old_files[a["filename"]] for a in kept if a["filename"] in old_files}
        message.files.update(files)
        data["attachments"] = kept + attachments(files)
    data["flags"] = int(data.get("flags") or 0) & ~LOADING
    data["edited_timestamp"] = iso_now()
