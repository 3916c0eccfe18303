"""Every XClient of the bot (the configured account's and each connected account's) takes its rate
budget from the store, so another process on the same database spends from the same windows.

Real LikesBot on the Discord emulator, real X sandbox, the bot's database opened a second time as
another process would (both engines).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.x_budgets import StoreBudgets
from tests.accounts.test_tokens_at_rest_bot import oauth2_settings
from tests.accounts_support import connect_sandbox_account
from tests.botharness import emulator_settings, running_bot
from tests.emulator import DiscordEmulator
from tests.engines import committed_rows, open_test_store
from xapi import errors, sandbox
from xapi.ratelimit import RateBudget
from xapi.sandbox import POST_7_LIKES, XSandbox
from xapi.sandbox.community import COMMUNITY_MAPLE

APP_ID = "likelens-test-app"


async def test_the_bots_clients_share_their_windows_with_another_process_on_the_database(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db", x_client_id=APP_ID)
    async with running_bot(emulator, settings) as bot:
        other_guild = int(emulator.add_guild("Another Server").id)
        connected = await connect_sandbox_account(bot, x_sandbox, other_guild)
        await bot.x.me()
        await connected.client.me()
        # What X said of each token's window is in the database, for every process to read.
        rows = await committed_rows(
            tmp_path, "SELECT identity, budget_limit, remaining FROM x_rate_budgets WHERE endpoint = 'me'")
        assert len(rows) == 2 and all(int(str(left)) < int(str(limit)) for _, limit, left in rows), rows
        # Another process spends both tokens' liking_users windows.
        other = await open_test_store(tmp_path)
        ledger = StoreBudgets(other.conn)
        try:
            window_end = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=15)
            spent = RateBudget("liking_users", 75, 0, window_end)
            for identity, _, _ in rows:
                await ledger.record("liking_users", str(identity), spent)
        finally:
            await ledger.close()
            await other.close()
        asked = len(x_sandbox.requests)
        for client, post in ((bot.x, POST_7_LIKES), (connected.client, COMMUNITY_MAPLE.post_ids[0])):
            with pytest.raises(errors.RateLimited) as refused:
                await client.liking_users(post, fresh=True)
            assert refused.value.sent is False and refused.value.reset_at == window_end
        assert len(x_sandbox.requests) == asked


@pytest.mark.sqlite_only  # store/oauth_tokens.py cannot save a rotated token on PostgreSQL yet (strftime)
async def test_a_configured_oauth2_account_keeps_one_budget_across_processes_after_its_token_rotated(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = oauth2_settings(emulator, x_sandbox, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as first:
        await first.x.me()  # the first refresh: X rotates the configured refresh token, the store keeps it
        assert x_sandbox.refresh_token != sandbox.SANDBOX_REFRESH_TOKEN
        # A process started after the rotation reads the rotated token: the same account all the same.
        async with running_bot(emulator, settings) as second:
            await second.x.me()
            rows = await committed_rows(
                tmp_path, "SELECT identity, remaining FROM x_rate_budgets WHERE endpoint = 'me'")
            assert len(rows) == 1 and int(str(rows[0][1])) <= 75 - 2, rows
