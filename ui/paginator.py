"""The /likes paginator's face: Previous / Page N of M / Next, and the embed of one display page.

Each message's buttons carry `ll:pg:<state id>:<target page>`, so two clicks on the same button
land on the same page and a click after a restart still names its page. This module only renders
and answers: what a click does (the store, X, the live page sources) is the browse controller's
job (cogs/likes_browse.py). The buttons are DynamicItems that discord.py finds by custom_id, so
their class must be importable here, where the view is built; their callback reaches the
controller through the `BrowseController` protocol registered for the bot (`use_controller`),
because ui/ may not import cogs/ (the design's "Shape"; see the README's layout): the arrow stays cogs → ui.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import discord
from discord.webhook.async_ import interaction_message_response_params

from ui.embeds import PostHeader, page_label, render_liked_page, render_likers_page
from ui.respond import NO_MENTIONS, answer_error
from ui.text import clip, plural
from xapi.browse import DisplayPage
from xapi.models import PartialError, Post, User

if TYPE_CHECKING:
    from bot import LikesBot

BrowseKind = Literal["liking_users", "liked_posts"]
PER_PAGE = 10

NOT_YOURS = "Only the person who ran the command can turn these pages."
STATE_GONE = "These pages are no longer available (they expired): run the command again."
OTHER_SERVER = "These pages belong to another server: run the command here to browse this server's likes."
NO_CONTROLLER = "Browsing is not available right now: try again in a minute."
CUSTOM_ID_PREFIX = "ll:pg"
# A Previous/Next button's custom_id: the paginator's state id and the page it shows.
PAGE_BUTTON_TEMPLATE = r"ll:pg:(?P<browse_id>[0-9a-z]{1,16}):(?P<page>[0-9]{1,5})"


class BrowseController(Protocol):
    """What answers the paginator's clicks and opens new paginators (cogs/likes_browse.LikesBrowser)."""

    async def open(
        self, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str, ephemeral: bool,
    ) -> None: ...

    async def turn(self, interaction: discord.Interaction, browse_id: str, target: int) -> None: ...


_controllers: weakref.WeakKeyDictionary[discord.Client, BrowseController] = weakref.WeakKeyDictionary()


def use_controller(client: discord.Client, controller: BrowseController | None) -> None:
    """Let the page buttons of client reach controller (None: forget it, e.g. when the cog unloads)."""
    if controller is None:
        _controllers.pop(client, None)
    else:
        _controllers[client] = controller


async def open_browser(
    bot: discord.Client, interaction: discord.Interaction, *, kind: BrowseKind, subject_id: str,
    ephemeral: bool = True,
) -> None:
    """Answer interaction with a new paginator over `kind` of subject_id, owned by whoever clicked.

    Defers first; never raises: X's refusals and failures are answered with a plain sentence.
    """
    controller = _controllers.get(bot)
    if controller is None:
        await answer_error(interaction, NO_CONTROLLER)
        return
    await controller.open(interaction, kind=kind, subject_id=subject_id, ephemeral=ephemeral)


class PageButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=PAGE_BUTTON_TEMPLATE):
    """Previous or Next: shows display page `target` of the paginator `browse_id`."""

    def __init__(self, browse_id: str, target: int, *, label: str = "Next", disabled: bool = False) -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary, disabled=disabled,
            custom_id=f"{CUSTOM_ID_PREFIX}:{browse_id}:{target}",
        ))
        self.browse_id = browse_id
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> PageButton:
        label = getattr(item, "label", None) or ""
        disabled = bool(getattr(item, "disabled", False))
        return cls(str(match["browse_id"]), int(match["page"]), label=label, disabled=disabled)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # A server no X account serves gets its one sentence; nothing is asked of X.
        return await cast("LikesBot", interaction.client).admit(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        controller = _controllers.get(interaction.client)
        if controller is None:
            await answer_error(interaction, NO_CONTROLLER)
            return
        await controller.turn(interaction, self.browse_id, self.target)


class PageLabel(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                template=r"ll:pn:(?P<browse_id>[0-9a-z]{1,16})"):
    """The disabled "Page N of M" between the arrows; dynamic, so discord.py keeps no View per message."""

    def __init__(self, browse_id: str, label: str) -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary, disabled=True, custom_id=f"ll:pn:{browse_id}",
        ))

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> PageLabel:
        return cls(str(match["browse_id"]), getattr(item, "label", None) or "Page")


def pager_view(browse_id: str, page: DisplayPage[Any]) -> discord.ui.View | None:
    """Previous / "Page N of M" / Next; None when everything fits on one page.

    Every item is a DynamicItem: the bot finds them by custom_id, so no View is stored per message.
    """
    if not page.has_previous and not page.has_next:
        return None
    view = discord.ui.View(timeout=None)
    previous = max(0, page.number - 1)
    view.add_item(PageButton(browse_id, previous, label="Previous", disabled=not page.has_previous))
    view.add_item(PageLabel(browse_id, page_label(page)))
    view.add_item(PageButton(browse_id, page.number + 1, label="Next", disabled=not page.has_next))
    return view


def click_answer_body(client: discord.Client, embed: discord.Embed, view: discord.ui.View | None) -> bytes:
    """The body of a click's callback showing embed and view in place of the clicked message (type 7):
    what `InteractionResponse.edit_message(embed=, view=, allowed_mentions=none)` sends, built by
    discord.py's own function, serialized as discord.py serializes it (without orjson)."""
    params = interaction_message_response_params(
        type=discord.InteractionResponseType.message_update.value, embed=embed, view=view,
        allowed_mentions=NO_MENTIONS, previous_allowed_mentions=client.allowed_mentions,
    )
    return json.dumps(params.payload, separators=(",", ":"), ensure_ascii=True).encode()


def partial_footnote(problems: list[PartialError]) -> str:
    """A short note when X left some items out of an answer (a 200 with `errors`)."""
    if not problems:
        return ""
    titles = sorted({p.title or p.kind or "error" for p in problems})
    return clip(f"X could not return {plural(len(problems), 'item')} here ({', '.join(titles)}).", 300)


def render_page(
    bot: LikesBot, kind: str, context: dict[str, Any], page: DisplayPage[Any], problems: list[PartialError],
    *, members: Mapping[str, int] | None = None,
) -> discord.Embed:
    """The embed of one display page, stamped with the bot's footer note; `members` maps a linked
    liker's X id to the server member's id (shown as a mention beside the handle)."""
    footnote = partial_footnote(problems)
    if kind == "liking_users":
        like_count = context.get("like_count")
        header = PostHeader(
            post_id=str(context.get("post_id", "")), text=str(context.get("text", "")),
            like_count=like_count if isinstance(like_count, int) else None,
            author_username=context.get("author") if isinstance(context.get("author"), str) else None,
        )
        likers = cast("DisplayPage[User]", page)
        embed = render_likers_page(likers, header, per_page=PER_PAGE, footnote=footnote, members=members)
    else:
        account = str(context.get("account", "the account"))
        posts = cast("DisplayPage[Post]", page)
        embed = render_liked_page(posts, account, per_page=PER_PAGE, footnote=footnote)
    return bot.stamp(embed)
