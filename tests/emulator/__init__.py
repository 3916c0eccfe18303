"""A local Discord (REST + gateway) that the unmodified discord.py client talks to in tests."""

from tests.emulator.server import DiscordEmulator, DiscordError
from tests.emulator.state import Channel, Guild, Interaction, Member, Message, RecordedRequest, User

__all__ = [
    "Channel", "DiscordEmulator", "DiscordError", "Guild", "Interaction", "Member", "Message",
    "RecordedRequest", "User",
]
