"""Autocomplete of the serving account's recent posts: `post` options and /digest add `subject`.

Discord gives an autocomplete 3 seconds and shows an error under the option for one left
unanswered, so the callbacks never wait for X: they answer from a per-account cache of the
account's latest posts (one `user_posts` page), and a cache older than a minute (or empty) starts
one refresh in the background. So X sees at most one `user_posts` request per account per minute
whatever the typing rate, a cold cache answers at once with what it has (possibly nothing), and
X failing leaves the choices empty. A refresh reads through the asking server's metered view of
its account (`bot.accounts.x_of`), so X_DAILY_ITEMS_PER_SERVER counts it and a spent cap only
leaves the choices as they were. A typed link or id that parses is offered back first, so pasting
still works as before.

Attach to an option with one line: `@app_commands.autocomplete(post=post_autocomplete)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

import discord
from discord import app_commands

from ui.account_handles import learn
from ui.text import clip, one_line
from xapi import errors
from xapi.client import XClient
from xapi.models import Page, Post, User
from xapi.refs import parse_post_ref

if TYPE_CHECKING:
    from bot import LikesBot

log = logging.getLogger("likelens.post_choices")

# At most one user_posts request per account in this many seconds.
REFRESH_SECONDS = 60.0
# One API page of the newest posts: what X answers in one request.
POSTS_PER_REFRESH = 100
# Discord's limits on autocomplete answers.
MAX_CHOICES = 25
NAME_LIMIT = 100
# Accounts whose posts are kept (least recently asked dropped first).
MAX_ACCOUNTS = 1024
SEPARATOR = " · "
# /digest add subject's two words, offered before the posts.
SUBJECT_WORDS = (
    ("liked", "liked: posts the account likes"),
    ("recent", "recent: the account's new posts"),
)


def age_label(seconds: float) -> str:
    """A post's age as Discord users read it in a short list: now, 5m, 3h, 2d, 1y."""
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 1:
        return "now"
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 24:
        return f"{hours}h"
    days = hours // 24
    return f"{days}d" if days < 365 else f"{days // 365}y"


def choice_name(post: Post, now: float) -> str:
    """`3h · Launch day! We're live…`: age and text on one line, within Discord's 100 characters."""
    text = one_line(post.text) or f"post {post.id}"
    if post.created_at is None:
        return clip(text, NAME_LIMIT)
    return clip(age_label(now - post.created_at.timestamp()) + SEPARATOR + text, NAME_LIMIT)


def _typed_post_id(typed: str) -> str | None:
    with contextlib.suppress(errors.InvalidReference):
        return parse_post_ref(typed)
    return None


def post_choices(posts: tuple[Post, ...], typed: str, now: float) -> list[app_commands.Choice[str]]:
    """The choices for what was typed: a parsed link or id first, then the posts whose text or id match."""
    choices: list[app_commands.Choice[str]] = []
    wanted = typed.strip()
    pasted = _typed_post_id(wanted) if wanted else None
    by_id = {post.id: post for post in posts}
    if pasted is not None:
        known = by_id.get(pasted)
        name = choice_name(known, now) if known is not None else clip(wanted, NAME_LIMIT)
        choices.append(app_commands.Choice(name=name, value=pasted))
    needle = wanted.casefold()
    for post in posts:
        if len(choices) >= MAX_CHOICES:
            break
        if post.id == pasted:
            continue
        if needle in one_line(post.text).casefold() or post.id.startswith(needle):
            choices.append(app_commands.Choice(name=choice_name(post, now), value=post.id))
    return choices


def subject_choices(posts: tuple[Post, ...], typed: str, now: float) -> list[app_commands.Choice[str]]:
    """/digest add subject: `liked` and `recent` when they match what was typed, then the posts."""
    needle = typed.strip().casefold()
    words = [app_commands.Choice(name=name, value=value)
             for value, name in SUBJECT_WORDS if not needle or value.startswith(needle)]
    return (words + post_choices(posts, typed, now))[:MAX_CHOICES]


class PostsReader(Protocol):
    """What a refresh reads through: the server's metered view of its account (accounts.server_x)."""

    async def me(self, *, deadline: float | None = None) -> User: ...

    async def user_posts(
        self, user_id: str, *, max_results: int = 100, pagination_token: str | None = None,
        deadline: float | None = None, fresh: bool = False,
    ) -> Page[Post]: ...


@dataclass
class _AccountPosts:
    """One account's cached posts; the entry holds its client, so the key (its id) is not reused."""

    client: XClient
    posts: tuple[Post, ...] = ()
    asked_at: float | None = None
    refresh: asyncio.Task[None] | None = None


class RecentPosts:
    """The bot's per-account cache of recent posts, refreshed in the background."""

    def __init__(self, clock: Callable[[], float], *, deadline: float = 10.0) -> None:
        self._clock = clock
        self._deadline = deadline
        self._accounts: OrderedDict[int, _AccountPosts] = OrderedDict()

    def posts(self, client: XClient, reader: Callable[[], PostsReader]) -> tuple[Post, ...]:
        """What is cached for client's account now, newest first; starts a refresh when one is due,
        reading through reader() (the asking server's reads, counted against its daily cap)."""
        key = id(client)
        entry = self._accounts.get(key)
        if entry is None or entry.client is not client:
            entry = self._accounts[key] = _AccountPosts(client)
            while len(self._accounts) > MAX_ACCOUNTS:
                self._accounts.popitem(last=False)
        self._accounts.move_to_end(key)
        now = self._clock()
        due = entry.asked_at is None or now - entry.asked_at >= REFRESH_SECONDS
        if due and entry.refresh is None:
            # Counted from the start: a failing X is asked once a minute too, not on every keystroke.
            entry.asked_at = now
            entry.refresh = asyncio.create_task(self._refresh(entry, reader()), name="likelens-recent-posts")
        return entry.posts

    async def _refresh(self, entry: _AccountPosts, reader: PostsReader) -> None:
        try:
            me = await reader.me(deadline=self._deadline)
            learn(entry.client, me.username)
            page = await reader.user_posts(
                me.id, max_results=POSTS_PER_REFRESH, deadline=self._deadline)
            entry.posts = page.items
        except errors.XApiError as error:
            # The choices stay what they were (empty when cold): autocomplete never shows an error.
            log.info("Recent posts for autocomplete not refreshed (%s): %s",
                     type(error).__name__, error.message)
        except Exception:
            log.exception("Refreshing the recent posts for autocomplete failed")
        finally:
            entry.refresh = None

    def _running(self) -> list[asyncio.Task[None]]:
        return [e.refresh for e in self._accounts.values() if e.refresh is not None]

    async def settled(self) -> None:
        """Return once no refresh is running (tests, and a clean shutdown)."""
        while running := self._running():
            await asyncio.wait(running)

    async def close(self) -> None:
        """Cancel the refreshes still running (the bot is closing)."""
        running = self._running()
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task


_caches: weakref.WeakKeyDictionary[object, RecentPosts] = weakref.WeakKeyDictionary()


def recent_posts(bot: LikesBot) -> RecentPosts:
    """The bot's cache of recent posts (one per bot)."""
    cache = _caches.get(bot)
    if cache is None:
        cache = _caches[bot] = RecentPosts(lambda: bot.clock().timestamp(), deadline=bot.x_deadline)
    return cache


def _cached_posts(interaction: discord.Interaction) -> tuple[tuple[Post, ...], float]:
    """The serving account's cached posts (none when no account serves, or it needs reconnecting)."""
    bot = cast("LikesBot", interaction.client)
    now = bot.clock().timestamp()
    account = bot.accounts.serving(interaction.guild_id)
    if account is None or account.needs_reconnect is not None:
        return (), now
    return recent_posts(bot).posts(account.client, lambda: bot.accounts.x_of(account)), now


async def post_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete of a `post` option: the serving account's recent posts matching what was typed."""
    posts, now = _cached_posts(interaction)
    return post_choices(posts, current, now)


async def subject_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Autocomplete of /digest add `subject`: `liked`, `recent`, then the recent posts."""
    posts, now = _cached_posts(interaction)
    return subject_choices(posts, current, now)

