"""The Browse button of a digest message: opens the paginator over the digest's subject.

A DynamicItem, so the button of a message posted before a restart still works. Its custom_id
carries the digest id and what to browse: `ll:db:<digest>:p:<post id>` (likers of a post: the
subject of a post digest, the newest post listed by a `recent` digest) or `ll:db:<digest>:l:me`
(posts the connected account liked).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import discord

from ui.respond import answer

if TYPE_CHECKING:
    from bot import LikesBot

# What a click does (digests/browsing.py; the digests cog connects it): ui only renders and answers.
BrowseHandler = Callable[[discord.Interaction, "DigestBrowseButton"], Awaitable[None]]
_handlers: list[BrowseHandler] = []


def handle_clicks_with(handler: BrowseHandler | None) -> None:
    """Send every Browse click to handler from now on (None: clicks are answered "unavailable")."""
    _handlers[:] = [] if handler is None else [handler]


class DigestBrowseButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"ll:db:(?P<digest>[0-9]{1,12}):(?P<kind>[pl]):(?P<subject>[0-9]{1,19}|me)",
):
    """Browse: whoever clicks gets their own (ephemeral) paginator over the subject."""

    def __init__(self, digest_id: int, kind: str, subject: str, *, label: str = "Browse") -> None:
        super().__init__(discord.ui.Button(
            label=label, style=discord.ButtonStyle.secondary,
            custom_id=f"ll:db:{digest_id}:{kind}:{subject}",
        ))
        self.digest_id = digest_id
        self.kind = kind
        self.subject = subject

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: Any, /,
    ) -> DigestBrowseButton:
        return cls(int(match["digest"]), str(match["kind"]), str(match["subject"]))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # A server no X account serves gets its one sentence; nothing is asked of X.
        return await cast("LikesBot", interaction.client).admit(interaction)

    async def callback(self, interaction: discord.Interaction) -> None:
        if not _handlers:
            await answer(interaction, content="Browsing is unavailable right now: try again in a minute.")
            return
        await _handlers[0](interaction, self)


def browse_view(
    digest_id: int, subject_kind: str, subject_id: str, item_ids: Sequence[str] = ()
) -> discord.ui.View | None:
    """The digest message's view: a Browse button over the subject.

    A `recent` digest spans several posts: its button browses the likers of the newest post the
    message lists (its items are `<post id>:<user id>`, newest post first); None if it lists none.
    """
    if subject_kind == "post":
        button = DigestBrowseButton(digest_id, "p", subject_id)
    elif subject_kind == "liked":
        button = DigestBrowseButton(digest_id, "l", "me")
    elif item_ids and item_ids[0].partition(":")[0].isdigit():
        button = DigestBrowseButton(
            digest_id, "p", item_ids[0].partition(":")[0], label="Browse the newest post's likers"
        )
    else:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(button)
    return view
