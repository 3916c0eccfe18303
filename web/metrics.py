"""GET /metrics: what LikeLens already counts, in Prometheus' text format, read at scrape time.

One CollectorRegistry per bot (never the global one: two bots in one process, as in the tests,
must not mix). The collector reads, when scraped: each X account's requests and items by endpoint
(xapi/stats.py; they restart at UTC midnight, which Prometheus treats as a counter reset) and
its rate budget left, the digests due and late (one COUNT on the digests table), the commands and
clicks received (InteractionTally, fed by an on_interaction listener), the gateway's latency per
shard and whether each shard is connected, whether this process's live-likes stream is connected
and how long ago the deployment's stream was last alive (the time the reading process stores every
few seconds: any process of a deployment reports it). Accounts are labelled by handle or X user
id, never a token.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

import discord
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from accounts.registry import AccountRegistry
from config import Settings
from store.db import Store
from store.like_events import ALIVE_KEY
from store.meta import get_meta
from web.gateway_health import GatewayHealth
from xapi.client import ENDPOINTS, XClient

__all__ = ["BotMetrics", "InteractionTally", "MetricsBot"]

# A due digest not run within this many seconds is late (a tick every minute should have taken it).
LATE_AFTER_SECONDS = 300
# Portable SQL (PostgreSQL has no SUM of a comparison): every process of a deployment counts the same.
DIGESTS_DUE_AND_LATE = (
    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_run_at <= ? THEN 1 ELSE 0 END), 0) "
    "FROM digests WHERE next_run_at <= ?"
)


class MetricsBot(Protocol):
    """What the collector reads on the bot (LikesBot; `accounts` and `store` once setup_hook made them)."""

    settings: Settings
    x: XClient
    accounts: AccountRegistry
    store: Store
    clock: Callable[[], datetime]
    gateway: GatewayHealth

    def gateway_connected(self) -> bool: ...

    def get_cog(self, name: str, /) -> Any: ...


class InteractionTally:
    """Commands (by "group sub" name) and clicks (by the custom_id's first two parts) received."""

    def __init__(self) -> None:
        self.commands: Counter[str] = Counter()
        self.clicks: Counter[str] = Counter()

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        if interaction.type is discord.InteractionType.application_command:
            self.commands[command_name(data)] += 1
        elif interaction.type is discord.InteractionType.component:
            # The rest of a custom_id is ids (a browse, a digest): unbounded, so not a label.
            self.clicks[":".join(str(data.get("custom_id", "")).split(":")[:2])] += 1


def command_name(data: dict[str, Any]) -> str:
    """"likes post" from an APPLICATION_COMMAND's data (its name and subcommand group/subcommand)."""
    parts = [str(data.get("name", ""))]
    options: list[dict[str, Any]] = list(data.get("options") or [])
    while options and options[0].get("type") in (1, 2):
        parts.append(str(options[0]["name"]))
        options = list(options[0].get("options") or [])
    return " ".join(parts)


def account_clients(bot: MetricsBot) -> list[tuple[str, XClient]]:
    """Each X account's client and its label: "configured" (or "sandbox"), else the handle or X user id."""
    found: list[tuple[str, XClient]] = []
    if bot.settings.has_configured_account and getattr(bot, "x", None) is not None:
        found.append(("sandbox" if bot.settings.sandbox else "configured", bot.x))
    accounts: AccountRegistry | None = getattr(bot, "accounts", None)
    for serving in accounts.connected() if accounts is not None else []:
        found.append((serving.handle or serving.x_user_id or f"server {serving.guild_id}", serving.client))
    return found


class BotCollector(Collector):
    """Reads the bot when scraped; the digest counts come from `BotMetrics.scrape` (an async query)."""

    def __init__(self, bot: MetricsBot, tally: InteractionTally) -> None:
        self._bot = bot
        self._tally = tally
        self.digests_due = 0
        self.digests_late = 0
        # Seconds since the stream was last alive (None: no stream has run on this database).
        self.stream_lag: float | None = None

    def collect(self) -> Iterable[Metric]:
        yield from self._x_metrics()
        yield from self._bot_metrics()
        yield from self._live_metrics()

    def _x_metrics(self) -> Iterator[Metric]:
        labels = ["endpoint", "account"]
        requests = CounterMetricFamily(
            "likelens_x_requests", "Requests sent to X since the UTC day began", labels=labels)
        items = CounterMetricFamily(
            "likelens_x_items", "Items (users, posts) read from X since the UTC day began", labels=labels)
        budget = GaugeMetricFamily(
            "likelens_x_budget_remaining", "Requests X said are left in the endpoint's window", labels=labels)
        for account, client in account_clients(self._bot):
            stats = client.stats
            for endpoint, count in sorted(stats.requests_by_endpoint.items()):
                requests.add_metric([endpoint, account], count)
            for endpoint, count in sorted(stats.items_by_endpoint.items()):
                items.add_metric([endpoint, account], count)
            for endpoint in ENDPOINTS:
                if (left := client.budget(endpoint)) is not None:
                    budget.add_metric([endpoint, account], left.remaining)
        yield from (requests, items, budget)

    def _live_metrics(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "likelens_live_stream_connected", "1 while this process's X activity stream is connected",
            value=1 if stream_connected(self._bot) else 0)
        if self.stream_lag is not None:
            yield GaugeMetricFamily(
                "likelens_live_stream_lag_seconds",
                "Seconds since the deployment's activity stream was last alive", value=self.stream_lag)

    def _bot_metrics(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("likelens_digests_due", "Active digests whose run is due now",
                                value=self.digests_due)
        yield GaugeMetricFamily(
            "likelens_digests_late", f"Due digests not run within {LATE_AFTER_SECONDS} s of their time",
            value=self.digests_late)
        commands = CounterMetricFamily("likelens_commands", "Slash commands received", labels=["command"])
        for name, count in sorted(self._tally.commands.items()):
            commands.add_metric([name], count)
        clicks = CounterMetricFamily(
            "likelens_clicks", "Button and menu clicks received", labels=["component"])
        for component, count in sorted(self._tally.clicks.items()):
            clicks.add_metric([component], count)
        latency = GaugeMetricFamily(
            "likelens_gateway_latency_seconds", "Time between a heartbeat and its ack", labels=["shard"])
        shard_up = GaugeMetricFamily(
            "likelens_gateway_shard_connected", "1 while this shard of the process is connected",
            labels=["shard"])
        # This process's shards only (an unsharded bot is shard 0); no heartbeat acked yet: no latency.
        for shard in self._bot.gateway.shards():
            shard_up.add_metric([str(shard.id)], 1 if shard.connected else 0)
            if shard.latency is not None:
                latency.add_metric([str(shard.id)], shard.latency)
        connected = 1 if self._bot.gateway_connected() else 0
        yield from (commands, clicks, latency, shard_up)
        yield GaugeMetricFamily(
            "likelens_gateway_connected", "1 while every shard of the process is connected", value=connected)


def stream_connected(bot: MetricsBot) -> bool:
    """Whether the digests cog's live feed (digests/live_feed.py) has its stream connected now."""
    live = getattr(bot.get_cog("DigestsCog"), "live", None)
    connected = getattr(getattr(live, "stream", None), "connected", None)
    return isinstance(connected, asyncio.Event) and connected.is_set()


class BotMetrics:
    """The bot's registry, its collector and the interaction tally its listener feeds."""

    def __init__(self, bot: MetricsBot) -> None:
        self._bot = bot
        self.tally = InteractionTally()
        self.collector = BotCollector(bot, self.tally)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    async def scrape(self) -> bytes:
        """The text format of every metric now (counts the due digests first)."""
        store: Store | None = getattr(self._bot, "store", None)
        if store is not None:
            now = self._bot.clock().timestamp()
            async with store.conn.execute(DIGESTS_DUE_AND_LATE, (now - LATE_AFTER_SECONDS, now)) as cursor:
                row = await cursor.fetchone()
            due, late = row if row is not None else (0, 0)
            self.collector.digests_due, self.collector.digests_late = int(due), int(late)
            alive = await get_meta(store.conn, ALIVE_KEY)
            self.collector.stream_lag = max(0.0, now - float(alive)) if alive else None
        return generate_latest(self.registry)
