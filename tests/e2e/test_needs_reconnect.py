"""A connected account's refresh token: rotated and saved across a restart, and when X refuses it.

The refresh is forced the way it happens in production: the access token expires (the sandbox's
and the bot's clock move past its 7200 s). Refusing it is done at the sandbox, by revoking the
refresh token as a person revoking the app would.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from accounts.registry import REFRESH_REFUSED
from digests.scheduler import ACCOUNT_CHANGED
from store import digests as digest_store
from store.connected_accounts import get_connected_account
from tests.accounts_support import APP_ID, accounts_bot, connect_sandbox_account, run_in
from tests.e2e.digest_support import SettableClock, sandbox_on, scheduler_of
from tests.emulator import DiscordEmulator
from xapi.sandbox.community import COMMUNITY_MAPLE

MAPLE_POST = COMMUNITY_MAPLE.post_ids[0]
SENTENCE = ("X no longer accepts this server's connection to @maple_guild: a server manager can reconnect "
            "with `/x connect`.")


async def test_a_rotated_refresh_token_is_saved_and_used_after_a_restart(tmp_path: Path) -> None:
    clock = SettableClock()
    database = tmp_path / "likelens.db"
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        async with accounts_bot(emulator, x, database, clock=clock) as bot:
            first = (await connect_sandbox_account(bot, x, guild.id)).refresh_token()
            clock.advance(seconds=7201)
            result = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert result.embeds, result.content
            assert x.oauth2.refreshes == 1
            stored = await get_connected_account(bot.store.conn, int(guild.id))
            assert stored is not None and stored.refresh_token not in (None, first)
            rotated = stored.refresh_token
        clock.advance(seconds=7201)
        async with accounts_bot(emulator, x, database, clock=clock) as bot:
            # The restarted bot refreshes with the saved token (the first one is spent at X).
            result = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert result.embeds, result.content
            assert x.oauth2.refreshes == 2
            stored = await get_connected_account(bot.store.conn, int(guild.id))
            assert stored is not None and stored.refresh_token not in (None, first, rotated)


async def test_a_refused_refresh_token_marks_the_server_needs_reconnect_and_pauses_its_digests(
    tmp_path: Path,
) -> None:
    clock = SettableClock()
    database = tmp_path / "likelens.db"
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        async with accounts_bot(emulator, x, database, clock=clock) as bot:
            serving = await connect_sandbox_account(bot, x, guild.id)
            added = await run_in(emulator, guild, "digest add", subject=MAPLE_POST, channel="digests",
                                 every="6h")
            assert "Digest #1 created" in added.content, added.content
            refresh = serving.refresh_token()
            assert refresh is not None
            x.oauth2.revoke(refresh, APP_ID)
            clock.advance(seconds=7201)
            refused = await run_in(emulator, guild, "likes post", post=MAPLE_POST)
            assert refused.content == SENTENCE and not refused.embeds
            again = bot.accounts.serving(int(guild.id))
            assert again is not None and again.needs_reconnect == REFRESH_REFUSED
            asked = len(x.requests)
            # Nothing more is sent to X for this server: every lookup says the sentence at once.
            assert (await run_in(emulator, guild, "likes liked")).content == SENTENCE
            assert len(x.requests) == asked
            clock.advance(hours=7)
            await scheduler_of(bot).tick()
            digest = await digest_store.get_digest(bot.store.conn, 1)
            assert digest is not None and digest.state == "paused"
            assert digest.reason == SENTENCE.rstrip(".")
            assert len(x.requests) == asked
            status = (await run_in(emulator, guild, "likes status")).embed["description"]
            assert "@maple\\_guild (connected by" in status
            assert "-# X no longer accepts this server's connection to @maple\\_guild" in status
        # The mark is stored: after a restart the server still says so and X hears nothing.
        async with accounts_bot(emulator, x, database, clock=clock) as bot:
            assert (await run_in(emulator, guild, "likes post", post=MAPLE_POST)).content == SENTENCE
            assert len(x.requests) == asked


async def test_a_digest_added_for_another_account_pauses_when_the_server_connects_a_new_one(
    tmp_path: Path,
) -> None:
    clock = SettableClock()
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        guild = emulator.guild
        async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as bot:
            await connect_sandbox_account(bot, x, guild.id, handle="maple_guild")
            await run_in(emulator, guild, "digest add", subject="liked", channel="digests", every="6h")
            await connect_sandbox_account(bot, x, guild.id, handle="harbor_club")
            asked = len(x.requests)
            clock.advance(hours=7)
            await scheduler_of(bot).tick()
            digest = await digest_store.get_digest(bot.store.conn, 1)
            assert digest is not None and (digest.state, digest.reason) == ("paused", ACCOUNT_CHANGED)
            # Nothing of harbor_club's likes was read for a digest made for maple_guild's.
            assert not [r for r in x.requests[asked:] if "liked_tweets" in r.path]


async def test_concurrent_lookups_after_expiry_share_one_refresh_per_account(tmp_path: Path) -> None:
    clock = SettableClock()
    async with DiscordEmulator(bot_public=True) as emulator, sandbox_on(clock) as x:
        harbor = emulator.add_guild("Harbor")
        async with accounts_bot(emulator, x, tmp_path / "likelens.db", clock=clock) as bot:
            maple_x = (await connect_sandbox_account(bot, x, emulator.guild.id)).client
            harbor_x = (await connect_sandbox_account(bot, x, harbor.id, handle="harbor_club")).client
            clock.advance(seconds=7201)
            posts = [*COMMUNITY_MAPLE.post_ids]
            found, accounts = await asyncio.gather(
                asyncio.gather(*(maple_x.post(p) for p in posts)),
                asyncio.gather(harbor_x.me(), harbor_x.me()),
            )
            # One refresh per account, however many of its lookups met the expired token at once.
            assert x.oauth2.refreshes == 2
            assert [p.id for p in found] == posts and {a.username for a in accounts} == {"harbor_club"}
