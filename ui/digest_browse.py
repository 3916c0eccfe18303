"""The Browse button of a digest message: opens the paginator over the digest's subject.

A DynamicItem, so the button of a message posted before a restart still works. Its custom_id
carries the digest id and what to browse: `ll:db:<digest>:p:<post id>` (likers of a post: the
subject of a post digest, the newest post listed by a `recent` digest) or `ll:db:<digest>:l:me`
(posts the connected account liked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import discord

from cogs.digest_schedule import digests_may_spend
from ui.paginator import open_browser
from ui.respond import answer, defer
from xapi.errors import XApiError

if TYPE_CHECKING:
    from bot import LikesBot


# The X endpoint a Browse click reads first (and most): its budget decides.
BROWSED_ENDPOINT = {"p": "liking_users", "l": "liked_posts"}


def reserve_refusal(bot: LikesBot, interaction: discord.Interaction, endpoint: str) -> str | None:
    """Why a member may not browse now (only the moderators' quarter of endpoint's window is left), or None.

    Anyone may click a digest's button; the reserve the scheduler keeps for moderators (the
    members who may use /likes) must not be spent by them.
    """
    perms = interaction.permissions
    if perms.manage_messages or perms.administrator:
        return None
    budget = bot.x.budget(endpoint)
    if digests_may_spend(budget, bot.clock().timestamp()):
        return None
    assert budget is not None
    return (
        "X's request budget for browsing is nearly used up and the rest is kept for moderators: "
        f"try again <t:{int(budget.reset_at.timestamp())}:R>."
    )


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
        bot = cast("LikesBot", interaction.client)
        refusal = reserve_refusal(bot, interaction, BROWSED_ENDPOINT[self.kind])
        if refusal is not None:
            await answer(interaction, content=refusal)
            return
        # A new ephemeral message for the clicker: a component's plain defer would edit the digest itself.
        await defer(interaction)
        if self.kind == "p":
            await open_browser(bot, interaction, kind="liking_users", subject_id=self.subject)
            return
        # The connected account, read when clicked (the X client caches it).
        try:
            account_id = (await bot.x.me()).id
        except XApiError:
            account_id = ""
        if not account_id:
            await interaction.followup.send(
                "X did not answer: try again in a minute.", ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return
        await open_browser(bot, interaction, kind="liked_posts", subject_id=account_id)


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
