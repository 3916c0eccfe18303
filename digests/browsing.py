"""What a digest message's Browse click does: the checks, then reading X into a private paginator.

ui/digest_browse.py renders the button and hands each click here (the digests cog connects the two),
so ui imports nothing of digests or cogs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

from digests.policy import digests_may_spend
from ui.digest_browse import DigestBrowseButton
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


async def browse(interaction: discord.Interaction, button: DigestBrowseButton) -> None:
    """A Browse click: whoever clicks gets their own (ephemeral) paginator over the button's subject."""
    bot = cast("LikesBot", interaction.client)
    refusal = reserve_refusal(bot, interaction, BROWSED_ENDPOINT[button.kind])
    if refusal is not None:
        await answer(interaction, content=refusal)
        return
    # A new ephemeral message for the clicker: a component's plain defer would edit the digest itself.
    await defer(interaction)
    if button.kind == "p":
        await open_browser(bot, interaction, kind="liking_users", subject_id=button.subject)
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
