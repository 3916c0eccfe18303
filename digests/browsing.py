"""What a digest message's Browse click does: the checks, then reading X into a private paginator.

ui/digest_browse.py renders the button and hands each click here (the digests cog connects the two),
so ui imports nothing of digests or cogs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

from digests.policy import digests_may_spend
from store import digests as store
from store.digests import Digest
from ui.digest_browse import DigestBrowseButton
from ui.paginator import open_browser
from ui.respond import answer, defer
from xapi.errors import AccountRefusal, XApiError

if TYPE_CHECKING:
    from bot import LikesBot


# The X endpoint a Browse click reads first (and most): its budget decides.
BROWSED_ENDPOINT = {"p": "liking_users", "l": "liked_posts"}


GONE = "This digest no longer exists in this server, so its Browse button does nothing."


def is_moderator(bot: LikesBot, interaction: discord.Interaction) -> bool:
    """True when the clicker may use /likes: the permissions the bot's command tree declares for it."""
    perms = interaction.permissions
    if perms.administrator:
        return True
    likes = bot.tree.get_command("likes")
    needed = getattr(likes, "default_permissions", None)
    # A /likes without default permissions is everyone's: so is the reserve.
    return needed is None or perms >= needed


def reserve_refusal(bot: LikesBot, interaction: discord.Interaction, endpoint: str) -> str | None:
    """Why a member may not browse now (only the moderators' quarter of endpoint's window is left), or None.

    Anyone may click a digest's button; the reserve the scheduler keeps for moderators (the
    members who may use /likes) must not be spent by them.
    """
    if is_moderator(bot, interaction):
        return None
    serving = bot.accounts.serving(interaction.guild_id)
    budget = serving.client.budget(endpoint) if serving is not None else None
    if digests_may_spend(budget, bot.clock().timestamp()):
        return None
    assert budget is not None
    return (
        "X's request budget for browsing is nearly used up and the rest is kept for moderators: "
        f"try again <t:{int(budget.reset_at.timestamp())}:R>."
    )


def _button_refusal(digest: Digest | None, button: DigestBrowseButton) -> str | None:
    """Why this button may not browse (its digest is gone, not active, or not this button's), or None."""
    if digest is None:
        return GONE
    if digest.state != "active":
        return f"Digest #{digest.id} is {digest.state}: its Browse button works again once it is resumed."
    # A custom_id that does not match its digest's subject was not made by LikeLens.
    if digest.subject_kind == "post" and (button.kind, button.subject) != ("p", digest.subject_id):
        return GONE
    if (digest.subject_kind == "liked") != (button.kind == "l"):
        return GONE
    return None


async def browse(interaction: discord.Interaction, button: DigestBrowseButton) -> None:
    """A Browse click: whoever clicks gets their own (ephemeral) paginator over the button's subject.

    Only while its digest exists in this server (the interaction's), is active and serves the account
    that serves the server now; refusals are one sentence and ask X nothing.
    """
    bot = cast("LikesBot", interaction.client)
    digest = await store.get_digest(bot.store.conn, button.digest_id, interaction.guild_id or 0)
    endpoint = BROWSED_ENDPOINT[button.kind]
    refusal = _button_refusal(digest, button) or reserve_refusal(bot, interaction, endpoint)
    if refusal is not None:
        await answer(interaction, content=refusal)
        return
    assert digest is not None
    # A new ephemeral message for the clicker: a component's plain defer would edit the digest itself.
    await defer(interaction)
    # The server's account, read when clicked (known for a connected one; else the X client caches it).
    serving = bot.accounts.serving(interaction.guild_id)
    account_id = serving.x_user_id if serving is not None and serving.x_user_id else ""
    if not account_id:
        try:
            account_id = (await bot.accounts.x_for(interaction.guild_id).me()).id
        except AccountRefusal as refused:
            await answer(interaction, content=refused.message)
            return
        except XApiError:
            account_id = ""
    if not account_id:
        await answer(interaction, content="X did not answer: try again in a minute.")
        return
    if digest.account_id is not None and digest.account_id != account_id:
        await answer(interaction, content=(
            f"Digest #{digest.id} follows another X account than the one this server uses now, so its "
            "Browse button does nothing: `/digest remove` it and add it again."))
        return
    if button.kind == "p":
        await open_browser(bot, interaction, kind="liking_users", subject_id=button.subject)
        return
    await open_browser(bot, interaction, kind="liked_posts", subject_id=account_id)
