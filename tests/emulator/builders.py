"""Commands and interactions: the command sync routes, and the interactions Discord builds from what
a member does (slash commands, autocomplete, clicks).

Discord refuses what a member could not do: an unsynced command, a missing required option, a
value outside the choices, a command hidden by default_member_permissions, a disabled button.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from aiohttp import web

from tests.emulator.replies import json_response, recorded_of
from tests.emulator.state import Channel, Guild, Interaction, Member, Message, new_snowflake

if TYPE_CHECKING:
    from tests.emulator.server import DiscordEmulator


def base_interaction(
    emulator: DiscordEmulator, type_: int, member: Member, channel: Channel, guild: Guild
) -> Interaction:
    interaction_id = new_snowflake()
    token = f"emu-interaction-token-{interaction_id}"
    bot_member = guild.member(emulator.bot_user.id)
    assert bot_member is not None
    payload: dict[str, Any] = {
        "id": interaction_id, "application_id": emulator.application_id, "type": type_, "token": token,
        "version": 1, "locale": "en-US", "guild_locale": "en-US", "entitlements": [],
        "app_permissions": str(guild.permissions_in(bot_member, channel).value),
        "attachment_size_limit": 26214400, "guild_id": guild.id,
        "guild": {"id": guild.id, "locale": "en-US", "features": []},
        "channel_id": channel.id, "channel": channel.to_json(),
        "member": member.to_json(with_permissions=True), "context": 0,
        "authorizing_integration_owners": {"0": guild.id},
    }
    interaction = Interaction(
        interaction_id, token, type_, payload, channel.id, created_at=emulator.clock.now()
    )
    emulator.interactions[interaction_id] = interaction
    return interaction


def commands_for(emulator: DiscordEmulator, guild: Guild) -> list[dict[str, Any]]:
    """The commands a member of guild sees (guild commands first, as Discord merges them)."""
    return [*emulator.guild_commands.get(guild.id, []), *emulator.global_commands]


def build_slash(
    emulator: DiscordEmulator, command: str, options: dict[str, Any], *, member: Member,
    channel: Channel | None = None, guild: Guild | None = None, focused: str | None = None,
) -> Interaction:
    """An APPLICATION_COMMAND (or, with focused, AUTOCOMPLETE) interaction for "group sub"."""
    guild = guild or emulator.guild
    channel = channel or guild.channels[0]
    name, _, sub = command.partition(" ")
    found = next((c for c in commands_for(emulator, guild) if c["name"] == name), None)
    if found is None:
        synced = [c["name"] for c in commands_for(emulator, guild)]
        raise LookupError(f"/{name} is not synced (synced: {synced})")
    required = found.get("default_member_permissions")
    perms = member.permissions.value
    admin = perms & discord.Permissions.administrator.flag
    if required is not None and not admin and int(required) & perms != int(required):
        raise PermissionError(f"Discord does not show /{name} to a member without {required}")
    defined = found.get("options") or []
    resolved: dict[str, Any] = {}
    if sub:
        sub_def = next((o for o in defined if o["name"] == sub and o["type"] == 1), None)
        if sub_def is None:
            raise LookupError(f"/{name} has no subcommand {sub}")
        values = option_values(
            sub_def.get("options") or [], options, member=member, guild=guild, resolved=resolved,
            focused=focused,
        )
        data_options = [{"name": sub, "type": 1, "options": values}]
    else:
        data_options = option_values(
            defined, options, member=member, guild=guild, resolved=resolved, focused=focused
        )
    interaction = base_interaction(emulator, 4 if focused else 2, member, channel, guild)
    interaction.payload["data"] = {
        "id": found["id"], "name": name, "type": 1, "options": data_options, "guild_id": guild.id,
        **({"resolved": resolved} if resolved else {}),
    }
    return interaction


def option_values(
    definitions: list[dict[str, Any]], given: dict[str, Any], *, member: Member, guild: Guild,
    resolved: dict[str, Any], focused: str | None,
) -> list[dict[str, Any]]:
    by_name = {d["name"]: d for d in definitions}
    unknown = set(given) - set(by_name)
    if unknown:
        raise LookupError(f"no option(s) {sorted(unknown)}; defined: {sorted(by_name)}")
    values = []
    for definition in definitions:
        name = definition["name"]
        if name not in given:
            if definition.get("required") and name != focused:
                raise ValueError(f"option {name} is required")
            continue
        value = given[name]
        kind = definition["type"]
        if name == focused:  # Discord sends what the user has typed so far, as a string
            value = str(value)
        elif kind == 7:  # channel: the id, plus resolved data with the invoker's permissions there
            channel = value if isinstance(value, Channel) else guild.channel(str(value))
            resolved.setdefault("channels", {})[channel.id] = {
                **channel.to_json(), "permissions": str(member.permissions.value)
            }
            value = channel.id
        elif kind == 4:
            value = int(value)
        elif kind == 5:
            value = bool(value)
        elif kind == 3:
            value = str(value)
        choices = definition.get("choices")
        if choices and name != focused and value not in [c["value"] for c in choices]:
            raise ValueError(f"{value!r} is not a choice of {name}: {[c['value'] for c in choices]}")
        option: dict[str, Any] = {"name": name, "type": kind, "value": value}
        if name == focused:
            option["focused"] = True
        values.append(option)
    return values


def build_message_command(
    emulator: DiscordEmulator, name: str, message: Message, *, member: Member,
) -> Interaction:
    """An APPLICATION_COMMAND of type 3 (MESSAGE): member picks Apps → name on message.

    As Discord sends it: `data.type` 3, `data.target_id` the message, the message itself in
    `data.resolved.messages`, the interaction in the message's channel.
    """
    channel = emulator.find_channel(message.channel_id)
    guild = next((g for g in emulator.guilds if channel in g.channels), None)
    if channel is None or guild is None:
        raise LookupError(f"message {message.id} is in no channel of a guild the emulator knows")
    found = next((c for c in commands_for(emulator, guild) if c["name"] == name and c.get("type") == 3), None)
    if found is None:
        synced = [(c["name"], c.get("type")) for c in commands_for(emulator, guild)]
        raise LookupError(f"no message command {name!r} is synced (synced: {synced})")
    required = found.get("default_member_permissions")
    perms = member.permissions.value
    admin = perms & discord.Permissions.administrator.flag
    if required is not None and not admin and int(required) & perms != int(required):
        raise PermissionError(f"Discord does not show {name!r} to a member without {required}")
    interaction = base_interaction(emulator, 2, member, channel, guild)
    interaction.payload["data"] = {
        "id": found["id"], "name": name, "type": 3, "target_id": message.id, "guild_id": guild.id,
        "resolved": {"messages": {message.id: dict(message.data)}},
    }
    return interaction


def build_click(
    emulator: DiscordEmulator, message: Message, custom_id: str, *, member: Member,
    values: list[str] | None = None,
) -> Interaction:
    """A MESSAGE_COMPONENT interaction: member clicks custom_id (or picks values) on message."""
    component = message.buttons.get(custom_id)
    if component is None:
        raise LookupError(f"message {message.id} has no component {custom_id!r}: {list(message.buttons)}")
    if component.get("disabled"):
        raise PermissionError(f"{custom_id!r} is disabled: Discord would not send the click")
    channel = next(c for g in emulator.guilds for c in g.channels if c.id == message.channel_id)
    guild = next(g for g in emulator.guilds if channel in g.channels)
    interaction = base_interaction(emulator, 3, member, channel, guild)
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
    if values is not None:
        data["values"] = values
    interaction.payload["data"] = data
    interaction.payload["message"] = message.data
    interaction.source_message_id = message.id
    return interaction


async def get_commands(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    guild_id = request.match_info.get("guild_id")
    return json_response(emulator.guild_commands.get(guild_id, []) if guild_id else emulator.global_commands)


async def put_commands(emulator: DiscordEmulator, request: web.Request) -> web.Response:
    """The command sync: Discord stores the commands with ids and answers with them."""
    guild_id = request.match_info.get("guild_id")
    body = recorded_of(request).json or []
    stored = [
        {**command, "id": new_snowflake(), "application_id": emulator.application_id,
         "version": new_snowflake(), "type": command.get("type") or 1,
         "description": command.get("description") or "",
         **({"guild_id": guild_id} if guild_id else {})}
        for command in body
    ]
    if guild_id:
        emulator.guild_commands[guild_id] = stored
    else:
        emulator.global_commands = stored
    return json_response(stored)
