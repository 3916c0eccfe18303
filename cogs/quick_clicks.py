"""Previous/Next clicks on a live paginator, answered before discord.py builds anything for them.

For each click discord.py parses the clicked message (embed included) into an Interaction, rebuilds
a View from it to find the DynamicItem, and builds and serializes the answer again. A click whose
page is held in memory (its API pages fetched, the page rendered: cogs/live_pagers.py) needs none
of that: its answer (callback type 7, the whole page) was serialized after the previous click was
answered, and is posted as it is, on discord.py's HTTP session (handled as discord.py handles it).

The hook wraps discord.py's parser of INTERACTION_CREATE (`ConnectionState.parsers`, private:
discord.py has no public way to take a gateway event over). Anything else (another click, a
refused click, a page not held, a paginator answering another click) goes on to discord.py as
before, a loop turn later, and is answered by PageButton and LikesBrowser.turn. A quick click
still reaches the `on_interaction` listeners (the metrics), after its answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from discord.http import Route

from cogs.live_pagers import LivePager, render_key
from ui.failures import report_failure
from ui.paginator import PAGE_BUTTON_TEMPLATE
from xapi.browse import DisplayPage

if TYPE_CHECKING:
    from bot import LikesBot
    from cogs.likes_browse import LikesBrowser

log = logging.getLogger("likelens.browse")
PAGE_CLICK = re.compile(PAGE_BUTTON_TEMPLATE)
COMPONENT = discord.InteractionType.component.value
BUTTON = discord.ComponentType.button.value
# discord.py's name for the task of a DynamicItem's click: whoever waits for click handlers waits for it.
TASK_NAME = "discord-ui-dynamic-item-PageButton-{custom_id}"
Parser = Callable[[dict[str, Any]], None]
JSON = {"Content-Type": "application/json"}
ATTEMPTS = 5


@dataclass(slots=True)
class HeldAnswer:
    """A click that can be answered now: the pager, the page it shows, the body of its answer."""

    browse_id: str
    live: LivePager
    page: DisplayPage[Any]
    body: bytes
    now: float


class QuickClicks:
    """The INTERACTION_CREATE parser of one bot: held pages answered here, everything else by discord.py."""

    def __init__(self, browser: LikesBrowser, original: Parser) -> None:
        self.browser = browser
        self.bot: LikesBot = browser.bot
        self.original = original
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, data: dict[str, Any]) -> None:
        inner = data.get("data") if data.get("type") == COMPONENT else None
        custom_id = inner.get("custom_id") if isinstance(inner, dict) else None
        if not isinstance(custom_id, str) or PAGE_CLICK.fullmatch(custom_id) is None:
            self.original(data)
            return
        # The decision is taken in the task, so that it sees the pager as the click's turn finds it.
        name = TASK_NAME.format(custom_id=custom_id)
        task = asyncio.get_running_loop().create_task(self._answer(data), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, data: dict[str, Any]) -> None:
        try:
            held = self.held_answer(data)
        except Exception:
            # Whatever the click holds, discord.py's usual path still answers it.
            log.exception("Could not look a click up among the held pages")
            held = None
        if held is None:
            self.original(data)
            return
        source = held.live.source
        assert source is not None
        interaction: discord.Interaction[Any] | None = None
        try:
            # Taken at once (held_answer saw it free): this click's answer goes out before the next one's.
            async with held.live.lock:
                source.mark_shown(held.page.number)
                try:
                    await self._post(data, held.body)
                except Exception as error:
                    interaction = self._interaction(data)
                    await report_failure(self.bot, interaction, error)
                    return
                self.browser.quick_answers += 1
                interaction = self._interaction(data)
                # Answered: a listener sees the click as discord.py shows an answered one (private field).
                interaction.response._response_type = discord.InteractionResponseType.message_update
                # Stored after answering: a restart before it is written shows the page before.
                self.browser.positions.save(held.browse_id, source.state().to_json(), now=held.now)
                self.browser.prepare_neighbours(held.browse_id, held.live, held.page)
        finally:
            self.bot.dispatch("interaction", interaction or self._interaction(data))

    def held_answer(self, data: dict[str, Any]) -> HeldAnswer | None:
        """The answer of this click if its page is held and it may be shown; None: discord.py's turn."""
        inner = data.get("data") or {}
        match = PAGE_CLICK.fullmatch(str(inner.get("custom_id", "")))
        if match is None or inner.get("component_type") != BUTTON:
            return None
        browse_id, target = str(match["browse_id"]), int(match["page"])
        browser = self.browser
        now = browser.now()
        record = browser.pagers.live_record(browse_id, now)
        guild_id, user_id = _guild_and_user(data)
        # Refusals (another server, another user, no account serving) are answered by the usual turn.
        if (record is None or guild_id is None or guild_id != record.guild_id or user_id != record.owner_id
                or not self.bot.account_serves(guild_id)):
            return None
        live = browser.pagers.entry(browse_id, now)
        if live.source is None or live.lock.locked():
            return None
        page = live.source.held_page(target)
        shown = live.rendered.get(render_key(page, live.hooks.problems)) if page is not None else None
        if page is None or shown is None or shown.body is None:
            return None
        return HeldAnswer(browse_id, live, page, shown.body, now)

    async def _post(self, data: dict[str, Any], body: bytes) -> None:
        route = Route("POST", "/interactions/{webhook_id}/{webhook_token}/callback",
                      webhook_id=data["id"], webhook_token=data["token"])
        await post_callback(self.bot.http, route.url, body)

    def _interaction(self, data: dict[str, Any]) -> discord.Interaction[Any]:
        """The click as discord.py would have built it, for the listeners and the failure answer."""
        return discord.Interaction(data=data, state=self.bot._connection)  # type: ignore[arg-type]


async def post_callback(http: discord.http.HTTPClient, url: str, body: bytes) -> None:
    """POST a serialized interaction callback on discord.py's HTTP session, handled as discord.py's
    webhook adapter handles one (the path of InteractionResponse.edit_message): Discord's 429 is
    waited out and 5xx retried, up to 5 attempts; any other failure raises discord.py's exception.

    Not `HTTPClient.request`: it keeps a rate-limit bucket per interaction for 5 minutes and, past
    256 buckets, scans them all at every new one (about 0.1 ms per click at 500 clicks in 5 minutes).
    """
    session: aiohttp.ClientSession = http._HTTPClient__session  # type: ignore[attr-defined]  # mangled
    for attempt in range(ATTEMPTS):
        async with session.post(
            url, data=body, headers=JSON, proxy=http.proxy, proxy_auth=http.proxy_auth,
        ) as response:
            if 200 <= response.status < 300:
                return
            answer = await discord.http.json_or_text(response)
            if response.status == 429 and response.headers.get("Via") and isinstance(answer, dict):
                await asyncio.sleep(float(answer.get("retry_after", 1.0)))
                continue
            if response.status >= 500 and attempt < ATTEMPTS - 1:
                await asyncio.sleep(1 + attempt * 2)
                continue
            if response.status == 403:
                raise discord.Forbidden(response, answer)
            if response.status == 404:
                raise discord.NotFound(response, answer)
            if response.status >= 500:
                raise discord.DiscordServerError(response, answer)
            raise discord.HTTPException(response, answer)
    raise discord.HTTPException(response, "rate limited on every attempt")


def _guild_and_user(data: dict[str, Any]) -> tuple[int | None, int | None]:
    guild = data.get("guild_id")
    member = data.get("member")
    user = member.get("user") if isinstance(member, dict) else data.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return (int(guild) if guild is not None else None), (int(user_id) if user_id is not None else None)


def install(browser: LikesBrowser) -> QuickClicks | None:
    """Put the quick path in front of discord.py's INTERACTION_CREATE parser; None if it cannot be."""
    parsers = getattr(getattr(browser.bot, "_connection", None), "parsers", None)
    original = parsers.get("INTERACTION_CREATE") if isinstance(parsers, dict) else None
    # Private parts of discord.py: if a version moves them, every click simply takes the usual path.
    session = getattr(browser.bot.http, "_HTTPClient__session", None)
    if parsers is None or original is None or not isinstance(session, aiohttp.ClientSession):
        log.warning("discord.py's gateway parsers or HTTP session are not where expected: "
                    "clicks take the usual path")
        return None
    if isinstance(original, QuickClicks):
        return original
    quick = parsers["INTERACTION_CREATE"] = QuickClicks(browser, original)
    return quick


def uninstall(bot: discord.Client) -> None:
    """Give discord.py its own parser back (the cog unloads)."""
    parsers = getattr(getattr(bot, "_connection", None), "parsers", None)
    current = parsers.get("INTERACTION_CREATE") if isinstance(parsers, dict) else None
    if isinstance(parsers, dict) and isinstance(current, QuickClicks):
        parsers["INTERACTION_CREATE"] = current.original
