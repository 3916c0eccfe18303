"""Run a real LikesBot against the Discord emulator and drive it like a Discord user would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bot import LikesBot
from config import Settings
from tests import engines
from tests.emulator import DiscordEmulator, Interaction, Member, Message, RecordedRequest
from tests.emulator.state import Channel

BOT_TASK_PREFIXES = ("CommandTree-invoker", "discord-ui-view-dispatch", "discord-ui-dynamic-item")


def emulator_settings(
    emulator: DiscordEmulator, x_base_url: str, database_path: Path, **overrides: Any
) -> Settings:
    """Settings of a bot using the X sandbox's OAuth 1.0a keys (the real, non --sandbox path)."""
    from xapi import sandbox  # noqa: PLC0415 (the sandbox helper's module; imported when first needed)

    settings = Settings(
        discord_token=emulator.token,
        x_api_key=sandbox.SANDBOX_API_KEY,
        x_api_secret=sandbox.SANDBOX_API_SECRET,
        x_access_token=sandbox.SANDBOX_ACCESS_TOKEN,
        x_access_token_secret=sandbox.SANDBOX_ACCESS_TOKEN_SECRET,
        x_bearer_token=sandbox.SANDBOX_BEARER_TOKEN,
        x_api_base_url=x_base_url,
        database_path=database_path,
        # The test's engine (tests/engines.py): None on SQLite.
        database_url=engines.current_url(),
        # A free port: tests (and other test runs on this machine) never share the web server's port.
        web_port=0,
    )
    return replace(settings, **overrides)


@contextlib.contextmanager
def discord_pointed_at(emulator: DiscordEmulator) -> Any:
    """Point discord.py's two class attributes at the emulator, restoring them afterwards."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = f"{emulator.base_url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{emulator.port}/")
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


@contextlib.asynccontextmanager
async def running_bot(
    emulator: DiscordEmulator, settings: Settings, **bot_options: Any
) -> AsyncIterator[LikesBot]:
    """A LikesBot logged in to the emulator and READY in this event loop; closed on exit."""
    with discord_pointed_at(emulator):
        bot = LikesBot(settings, guild_ready_timeout=0.05, **bot_options)
        runner = asyncio.create_task(bot.start(settings.discord_token), name="likelens-test-bot")
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({runner, ready}, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # raises what made the bot stop
                raise AssertionError("the bot stopped before READY")
            if ready not in done:
                raise AssertionError("the bot did not reach READY within 15 s")
            yield bot
        finally:
            ready.cancel()
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@dataclass
class InteractionResult:
    """What the bot did with one interaction: its callback, response message and follow-ups."""

    interaction: Interaction
    emulator: DiscordEmulator

    @property
    def callback_type(self) -> int | None:
        """4 message, 5 deferred, 6 deferred update, 7 update, 8 autocomplete choices."""
        return self.interaction.callback_type

    @property
    def response(self) -> Message:
        """The message the response created or updated, in its current (edited) state."""
        message_id = self.interaction.response_message_id
        assert message_id is not None, f"interaction {self.interaction.id} has no response message"
        return self.emulator.messages[message_id]

    @property
    def followups(self) -> list[Message]:
        return [self.emulator.messages[i] for i in self.interaction.followup_ids]

    @property
    def content(self) -> str:
        return self.response.content

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.response.embeds

    @property
    def embed(self) -> dict[str, Any]:
        return self.response.embed

    @property
    def ephemeral(self) -> bool:
        return self.response.ephemeral

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices the bot answered with."""
        assert self.interaction.callback is not None
        return list((self.interaction.callback.get("data") or {}).get("choices") or [])

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request the bot made with this interaction's id or token."""
        keys = (self.interaction.id, self.interaction.token)
        return [r for r in self.emulator.requests if any(k in r.path for k in keys)]


class InteractionDriver:
    """Sends slash commands and clicks as members, and returns once the bot's handler has finished."""

    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emulator = emulator
        self.moderator = emulator.member("moderator")

    async def slash(
        self, command: str, *, member: Member | None = None, in_channel: Channel | str | None = None,
        **options: Any,
    ) -> InteractionResult:
        """Run `/group sub option=value…` as member (default: a moderator) in_channel (default #general).

        Options are passed by name; a channel option takes a channel name, id or Channel.
        """
        if isinstance(in_channel, str):
            in_channel = self.emulator.channel(in_channel)
        interaction = self.emulator.build_slash(
            command, options, member=member or self.moderator, channel=in_channel
        )
        return await self._run(interaction, f"/{command}")

    async def autocomplete(
        self, command: str, focused: str, current: str, *, member: Member | None = None, **options: Any
    ) -> list[dict[str, Any]]:
        """The choices the bot offers for option `focused` while the user has typed `current`."""
        interaction = self.emulator.build_slash(
            command, {**options, focused: current}, member=member or self.moderator, focused=focused
        )
        return (await self._run(interaction, f"autocomplete of /{command} {focused}")).choices

    async def click(
        self, message: Message | InteractionResult, custom_id: str, *, member: Member | None = None,
        values: list[str] | None = None,
    ) -> InteractionResult:
        """Click the component custom_id on message (e.g. a previous result's response)."""
        if isinstance(message, InteractionResult):
            message = message.response
        # A click before the bot has registered its View is dropped by discord.py: settle first.
        await self.settle()
        interaction = self.emulator.build_click(
            message, custom_id, member=member or self.moderator, values=values
        )
        return await self._run(interaction, f"click on {custom_id}")

    async def message_command(
        self, name: str, message: Message, *, member: Member | None = None,
    ) -> InteractionResult:
        """Run the message command `name` (right-click → Apps) on message as member (default: a moderator)."""
        interaction = self.emulator.build_message_command(name, message, member=member or self.moderator)
        return await self._run(interaction, f"message command {name!r}")

    async def _run(self, interaction: Interaction, what: str) -> InteractionResult:
        await self.emulator.send_interaction(interaction)
        await self.emulator.wait_until(lambda: interaction.acknowledged, what=f"the bot to answer {what}")
        await self.settle()
        return InteractionResult(interaction, self.emulator)

    async def settle(self) -> None:
        """Wait until the bot's command and component handler tasks have all finished."""
        me = asyncio.current_task()
        while True:
            pending = [
                task for task in asyncio.all_tasks()
                if task is not me and not task.done() and task.get_name().startswith(BOT_TASK_PREFIXES)
            ]
            if not pending:
                # One more turn of the loop: discord.py stores a View just after its request returns.
                await asyncio.sleep(0)
                return
            await asyncio.wait(pending, timeout=10)
