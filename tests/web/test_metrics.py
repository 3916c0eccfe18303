"""GET /metrics: Prometheus' text format, read at scrape time from what the running bot counts."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot import LikesBot
from tests.accounts_support import accounts_bot, connect_sandbox_account, run_in
from tests.botharness import InteractionDriver, emulator_settings, running_bot
from tests.e2e.likes_support import next_id
from tests.emulator import DiscordEmulator
from xapi import sandbox
from xapi.sandbox import XSandbox
from xapi.sandbox.community import COMMUNITY_MAPLE

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(bot: LikesBot) -> tuple[str, str]:
    async with aiohttp.ClientSession() as session, session.get(bot.web.base_url + "/metrics") as response:
        assert response.status == 200
        return response.headers["Content-Type"], await response.text()


def samples(text: str) -> Samples:
    """Every sample of the scrape, by (name, labels); parsing fails on anything not Prometheus' format."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_a_scrape_after_a_command_and_a_click_counts_them_and_the_x_request(
    bot: LikesBot, driver: InteractionDriver, x_sandbox: XSandbox, emulator: DiscordEmulator,
) -> None:
    result = await driver.slash("likes post", post=sandbox.POST_100_LIKES)
    await driver.click(result, next_id(result))

    content_type, text = await scrape(bot)
    assert content_type.startswith("text/plain; version=0.0.4")
    found = samples(text)
    assert value(found, "likelens_x_requests_total", endpoint="liking_users", account="configured") == 1
    assert value(found, "likelens_x_items_total", endpoint="liking_users", account="configured") >= 100
    assert value(found, "likelens_x_budget_remaining", endpoint="liking_users", account="configured") >= 0
    assert value(found, "likelens_commands_total", command="likes post") == 1
    assert value(found, "likelens_clicks_total", component="ll:pg") == 1
    assert value(found, "likelens_gateway_connected") == 1
    assert value(found, "likelens_gateway_latency_seconds", shard="0") >= 0
    assert value(found, "likelens_digests_due") == 0 and value(found, "likelens_digests_late") == 0


async def test_no_token_or_secret_appears_in_a_scrape(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    settings = emulator_settings(emulator, x_sandbox.base_url, tmp_path / "likelens.db")
    async with running_bot(emulator, settings) as bot:
        driver = InteractionDriver(emulator)
        await driver.slash("likes post", post=sandbox.POST_100_LIKES)
        text = (await scrape(bot))[1]
    secrets = [
        emulator.token, settings.x_api_key, settings.x_api_secret, settings.x_access_token,
        settings.x_access_token_secret, settings.x_bearer_token,
    ]
    assert "likelens_x_requests_total" in text
    assert [s for s in secrets if s and s in text] == []


async def test_a_connected_account_is_labelled_by_its_handle_and_its_tokens_stay_out(
    x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    async with DiscordEmulator(bot_public=True) as emulator, \
            accounts_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        serving = await connect_sandbox_account(bot, x_sandbox, emulator.guild.id, handle="maple_guild")
        result = await run_in(emulator, emulator.guild, "likes post", post=COMMUNITY_MAPLE.post_ids[0])
        assert result.embeds, result.content
        text = (await scrape(bot))[1]
    found = samples(text)
    assert value(found, "likelens_x_requests_total", endpoint="liking_users", account="maple_guild") == 1
    # A public bot: the configured account serves no server and asked X nothing for one.
    assert ("likelens_x_requests_total", frozenset({("endpoint", "liking_users"),
                                                    ("account", "configured")})) not in found
    tokens = [*x_sandbox.oauth2.access_tokens, serving.refresh_token()]
    assert tokens and [t for t in tokens if t and t in text] == []
