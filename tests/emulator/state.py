"""What the Discord emulator knows: users, guilds, channels, messages, interactions, requests."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

DISCORD_EPOCH_MS = 1420070400000
_sequence = itertools.count(1)


def new_snowflake() -> str:
    """A unique, time-ordered snowflake string."""
    return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(_sequence) & 0x3FFFFF))


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class User:
    id: str
    username: str
    bot: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "username": self.username, "discriminator": "0", "global_name": self.username,
            "avatar": None, "bot": self.bot, "public_flags": 0, "flags": 0,
        }


@dataclass
class Role:
    id: str
    name: str
    permissions: discord.Permissions
    position: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "permissions": str(self.permissions.value),
            "position": self.position, "color": 0, "hoist": False, "managed": False, "mentionable": False,
            "flags": 0,
        }


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: str
    type: int
    allow: discord.Permissions = field(default_factory=discord.Permissions.none)
    deny: discord.Permissions = field(default_factory=discord.Permissions.none)

    def to_json(self) -> dict[str, Any]:
        allow, deny = str(self.allow.value), str(self.deny.value)
        return {"id": self.id, "type": self.type, "allow": allow, "deny": deny}


@dataclass
class Channel:
    id: str
    name: str
    type: int = 0
    guild_id: str | None = None
    position: int = 0
    overwrites: list[Overwrite] = field(default_factory=list)
    recipients: list[User] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        if self.type == 1:
            return {"id": self.id, "type": 1, "last_message_id": None,
                    "recipients": [u.to_json() for u in self.recipients]}
        return {
            "id": self.id, "type": self.type, "guild_id": self.guild_id, "name": self.name,
            "position": self.position, "permission_overwrites": [o.to_json() for o in self.overwrites],
            "nsfw": False, "parent_id": None, "topic": None, "rate_limit_per_user": 0,
            "last_message_id": None,
        }


@dataclass
class Member:
    """A guild member; `permissions` is what an interaction reports for them (Discord computes it)."""

    user: User
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    roles: list[str] = field(default_factory=list)

    def to_json(self, *, with_permissions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.to_json(), "roles": list(self.roles), "joined_at": iso_now(), "deaf": False,
            "mute": False, "flags": 0, "nick": None, "avatar": None, "pending": False,
        }
        if with_permissions:
            data["permissions"] = str(self.permissions.value)
        return data


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: list[Role] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)

    @property
    def everyone(self) -> Role:
        return next(r for r in self.roles if r.id == self.id)

    def channel(self, name_or_id: str) -> Channel:
        return next(c for c in self.channels if name_or_id in (c.name, c.id))

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user.id == user_id), None)

    def permissions_in(self, member: Member, channel: Channel) -> discord.Permissions:
        """Discord's permission algorithm: roles, then @everyone, role and member overwrites."""
        base = self.everyone.permissions.value
        for role in self.roles:
            if role.id in member.roles:
                base |= role.permissions.value
        if member.user.id == self.owner_id or base & discord.Permissions.administrator.flag:
            return discord.Permissions.all()
        overwrites = {o.id: o for o in channel.overwrites}
        if (everyone := overwrites.get(self.id)) is not None:
            base = (base & ~everyone.deny.value) | everyone.allow.value
        allow = deny = 0
        for role_id in member.roles:
            if (o := overwrites.get(role_id)) is not None:
                allow |= o.allow.value
                deny |= o.deny.value
        base = (base & ~deny) | allow
        if (own := overwrites.get(member.user.id)) is not None:
            base = (base & ~own.deny.value) | own.allow.value
        return discord.Permissions(base)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "owner_id": self.owner_id, "icon": None, "splash": None,
            "features": [], "emojis": [], "stickers": [], "threads": [], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "roles": [r.to_json() for r in self.roles],
            "channels": [c.to_json() for c in self.channels],
            "members": [m.to_json() for m in self.members], "member_count": len(self.members),
            "large": False, "unavailable": False, "joined_at": iso_now(), "preferred_locale": "en-US",
            "premium_tier": 0, "mfa_level": 0, "verification_level": 0, "explicit_content_filter": 0,
            "default_message_notifications": 0, "system_channel_id": None, "afk_channel_id": None,
            "afk_timeout": 300, "nsfw_level": 0, "premium_progress_bar_enabled": False,
        }


@dataclass
class Message:
    """A message as the emulator stores it; `data` is the JSON Discord would return."""

    data: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    interaction_id: str | None = None
    deleted: bool = False

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def channel_id(self) -> str:
        return str(self.data["channel_id"])

    @property
    def author_id(self) -> str:
        return str(self.data["author"]["id"])

    @property
    def interaction_user_id(self) -> str | None:
        """The user whose interaction this message answers (None for a plain channel message)."""
        metadata = self.data.get("interaction_metadata")
        return None if metadata is None else str(metadata["user"]["id"])

    def visible_to(self, user_id: str) -> bool:
        """Discord shows an ephemeral message only to its interaction's user; others to everyone."""
        return not self.deleted and (not self.ephemeral or self.interaction_user_id == user_id)

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def embed(self) -> dict[str, Any]:
        """The first embed (fails the test if there is none)."""
        assert self.embeds, f"message {self.id} has no embed: {self.data}"
        return self.embeds[0]

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.data.get("components") or [])

    @property
    def buttons(self) -> dict[str, dict[str, Any]]:
        """Buttons and selects by custom_id."""
        found: dict[str, dict[str, Any]] = {}
        for row in self.components:
            for item in row.get("components", []):
                if "custom_id" in item:
                    found[item["custom_id"]] = item
        return found

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    @property
    def loading(self) -> bool:
        """A deferred response not yet edited ("LikeLens is thinking…")."""
        return bool(self.flags & 128)


@dataclass
class RecordedRequest:
    """One HTTP request the bot made, with the emulator's answer status."""

    method: str
    path: str
    route: str
    query: dict[str, str]
    json: Any
    files: dict[str, bytes]
    headers: dict[str, str]
    status: int = 0
    response: Any = None
    # When it arrived, on the emulator's clock (seconds).
    at: float = 0.0
    # Discord's rate-limit headers of the answer (X-RateLimit-*, and Via/Retry-After on a 429).
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Interaction:
    """An interaction the emulator dispatched, and what the bot did with it."""

    id: str
    token: str
    type: int
    payload: dict[str, Any]
    channel_id: str
    created_at: float = field(default_factory=time.monotonic)
    callback: dict[str, Any] | None = None
    response_message_id: str | None = None
    followup_ids: list[str] = field(default_factory=list)
    # For component interactions: the message the component was on.
    source_message_id: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else int(self.callback["type"])
