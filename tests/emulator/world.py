"""The world a test builds before and while the bot runs: guilds, channels, members, permissions.

A mixin of DiscordEmulator (kept apart so each module stays small); changes made while the bot is
connected are dispatched over the gateway as Discord would (CHANNEL_UPDATE, GUILD_DELETE, ...).
"""

from __future__ import annotations

from typing import Any

import discord

from tests.emulator.sharding import snowflake_on_shard
from tests.emulator.state import Channel, Guild, Member, Overwrite, Role, User, new_snowflake


class World:
    """Guilds and members; DiscordEmulator supplies the attributes below and `dispatch`."""

    owner: User
    bot_user: User
    guild: Guild
    guilds: list[Guild]
    users: dict[str, User]

    async def dispatch(self, event: str, data: Any) -> None:
        raise NotImplementedError

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> Guild:
        """A guild the bot is in; shard (id, count): its id lands on that shard, as Discord routes it."""
        guild_id = new_snowflake() if shard is None else snowflake_on_shard(*shard)
        bot_role = Role(new_snowflake(), "LikeLens", discord.Permissions(
            view_channel=True, send_messages=True, embed_links=True, attach_files=True,
            read_message_history=True, use_application_commands=True,
        ), position=1)
        everyone = Role(guild_id, "@everyone", discord.Permissions(view_channel=True, send_messages=True))
        guild = Guild(guild_id, name, self.owner.id, roles=[everyone, bot_role])
        guild.members.append(Member(self.bot_user, roles=[bot_role.id]))
        guild.members.append(Member(self.owner, permissions=discord.Permissions.all()))
        for position, channel_name in enumerate(("general", "digests")):
            channel = Channel(new_snowflake(), channel_name, guild_id=guild_id, position=position)
            guild.channels.append(channel)
        self.guilds.append(guild)
        return guild

    def add_channel(
        self, name: str, *, guild: Guild | None = None, bot_deny: discord.Permissions | None = None
    ) -> Channel:
        """A text channel (before the bot connects); bot_deny: permissions the bot lacks there."""
        guild = guild or self.guild
        channel = Channel(new_snowflake(), name, guild_id=guild.id, position=len(guild.channels))
        if bot_deny is not None:
            channel.overwrites.append(Overwrite(self.bot_user.id, 1, deny=bot_deny))
        guild.channels.append(channel)
        return channel

    async def set_bot_deny(self, channel: Channel, deny: discord.Permissions) -> None:
        """Change the bot's overwrite in channel now (CHANNEL_UPDATE is dispatched)."""
        channel.overwrites = [o for o in channel.overwrites if o.id != self.bot_user.id]
        channel.overwrites.append(Overwrite(self.bot_user.id, 1, deny=deny))
        await self.dispatch("CHANNEL_UPDATE", channel.to_json())

    async def delete_channel(self, channel: Channel) -> None:
        """Delete channel now (CHANNEL_DELETE is dispatched; later sends get 404 Unknown Channel)."""
        for guild in self.guilds:
            if channel in guild.channels:
                guild.channels.remove(channel)
        await self.dispatch("CHANNEL_DELETE", channel.to_json())

    async def remove_bot_from(self, guild: Guild) -> None:
        """The bot is kicked from guild now (GUILD_DELETE without `unavailable`); it is gone on reconnect."""
        self.guilds.remove(guild)
        await self.dispatch("GUILD_DELETE", {"id": guild.id})

    async def guild_outage(self, guild: Guild) -> None:
        """guild becomes unavailable now (GUILD_DELETE with `unavailable: true`, as in a Discord outage)."""
        await self.dispatch("GUILD_DELETE", {"id": guild.id, "unavailable": True})

    def member(
        self, name: str = "moderator", permissions: discord.Permissions | None = None, *,
        guild: Guild | None = None,
    ) -> Member:
        """A (new) human member of guild; default: can use both command groups."""
        guild = guild or self.guild
        user = User(new_snowflake(), name)
        self.users[user.id] = user
        perms = permissions if permissions is not None else discord.Permissions(
            view_channel=True, send_messages=True, manage_messages=True, manage_guild=True,
            use_application_commands=True,
        )
        member = Member(user, permissions=perms)
        guild.members.append(member)
        return member

    def channel(self, name_or_id: str, guild: Guild | None = None) -> Channel:
        return (guild or self.guild).channel(name_or_id)
