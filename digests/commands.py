"""What each /digest command does (cogs/digests.py holds only the command tree and calls these).

Every answer is ephemeral and one or two sentences; a digest id is looked up in the interaction's
server only, so no server sees or changes another's digests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from digests import policy
from digests.runner import missing_permissions
from digests.scheduler import DigestScheduler
from digests.subjects import describe, parse_subject
from store import digests as store
from store.digests import Digest
from ui.account_handles import known_handle
from ui.digest_embeds import fit_lines
from ui.error_messages import message_for
from ui.respond import answer, defer
from ui.text import plural
from xapi import errors

if TYPE_CHECKING:
    from bot import LikesBot
    from digests.live_feed import LiveFeed

LIST_LIMIT = 3900


async def _answer(interaction: discord.Interaction, text: str) -> None:
    """The ephemeral answer (it replaces a deferred "thinking…")."""
    await answer(interaction, content=text)


async def _find(bot: LikesBot, interaction: discord.Interaction, digest_id: int) -> Digest | None:
    found = await store.get_digest(bot.store.conn, digest_id, interaction.guild_id or 0)
    if found is None:
        await _answer(interaction, f"There is no digest #{digest_id} in this server: see `/digest list`.")
    return found


def _when(timestamp: float | None) -> str:
    return "never" if timestamp is None else f"<t:{int(timestamp)}:R>"


def state_phrase(digest: Digest, *, bold: bool = False) -> str:
    """The digest's state with its reason: "active", "paused: …", "disabled after 8 failed runs …"."""
    if digest.state == "active":
        if not digest.failures:
            return "active"
        return f"active (retrying after {plural(digest.failures, 'failed run')}: {digest.reason})"
    state = f"**{digest.state}**" if bold else digest.state
    reason = digest.reason or "by a moderator"
    # "disabled after 8 failed runs …" reads as one sentence; other reasons follow a colon.
    return f"{state} {reason}" if reason.startswith("after ") else f"{state}: {reason}"


def describe_digest(digest: Digest) -> str:
    """One /digest list entry."""
    if policy.is_live(digest.every_seconds):
        return (
            f"**#{digest.id}** {describe(digest.subject_kind, digest.subject_id)} → <#{digest.channel_id}>, "
            f"live · last posted {_when(digest.last_run_at)} · {state_phrase(digest, bold=True)}"
        )
    return (
        f"**#{digest.id}** {describe(digest.subject_kind, digest.subject_id)} → <#{digest.channel_id}>, "
        f"every {policy.every_label(digest.every_seconds)} · last run {_when(digest.last_run_at)} · "
        f"next run {_when(digest.next_run_at)} · {state_phrase(digest, bold=True)}"
    )


async def digest_add(
    bot: LikesBot, interaction: discord.Interaction, *, subject: str, channel: discord.TextChannel,
    every: str, live: LiveFeed | None = None,
) -> None:
    try:
        parsed = parse_subject(subject)
    except errors.InvalidReference as error:
        sentence = message_for(error, handle=known_handle(bot, interaction.guild_id))
        await _answer(interaction, f"{sentence} Or write `liked` or `recent`.")
        return
    guild = interaction.guild
    target = guild.get_channel(channel.id) if guild else None
    if not isinstance(target, discord.TextChannel):
        await _answer(interaction, "LikeLens cannot see that channel: pick a text channel of this server.")
        return
    missing = missing_permissions(target)
    if missing:
        await _answer(
            interaction,
            f"LikeLens cannot post digests in {target.mention}: it lacks {', '.join(missing)} there. "
            "Give it those permissions in that channel, then add the digest again.",
        )
        return
    is_live = every == policy.LIVE
    if is_live:
        missing_live = "Live digests are not available in this bot." if live is None else live.missing(
            interaction.guild_id)
        if missing_live is not None:
            await _answer(interaction, missing_live)
            return
    x = bot.accounts.x_for(interaction.guild_id)
    await defer(interaction)
    # The account the digest serves: its Browse button stops working if another one serves the server later.
    account = await x.me()
    if parsed.kind == "post":
        # Refused now, as /likes post refuses it (the cog's error handler says why in the same words).
        post = await x.post(parsed.id)
        if post.author_id != account.id:
            raise errors.NotAuthorizedForResource(
                "Not the connected account's post.", endpoint="liking_users")
    conn = bot.store.conn
    for existing in await store.guild_digests(conn, target.guild.id):
        if existing.channel_id == target.id and existing.subject_key == (parsed.kind, parsed.id):
            await _answer(interaction, f"Digest #{existing.id} already posts this to {target.mention}.")
            return
    if is_live and live is not None:
        try:
            # Before the digest exists: a refusal (the cap among them) leaves nothing behind.
            await live.subscribe(target.guild.id, account.id, parsed.kind)
        except errors.XApiError as refused:
            await _answer(interaction, f"LikeLens cannot start this live digest: {refused.message}")
            return
    try:
        digest = await store.add_digest(
            conn, guild_id=target.guild.id, channel_id=target.id, creator_id=interaction.user.id,
            subject_kind=parsed.kind, subject_id=parsed.id, every_seconds=policy.EVERY_SECONDS[every],
            now=bot.clock().timestamp(), account_id=account.id, due=not is_live,
        )
    except store.DuplicateDigest as duplicate:
        # Another /digest add of the same digest won the race since the check above.
        await _answer(interaction, f"Digest #{duplicate.existing_id} already posts this to {target.mention}.")
        return
    if is_live and live is not None:
        await live.begin(digest)
        await _answer(
            interaction,
            f"Live digest #{digest.id} created: {describe(parsed.kind, parsed.id)} → {target.mention}. "
            "It posted one \"tracking started\" line; new likes follow within seconds.",
        )
        return
    await _answer(
        interaction,
        f"Digest #{digest.id} created: {describe(parsed.kind, parsed.id)} → {target.mention}, every {every}. "
        "Its first run posts one \"tracking started\" line; later runs post only what is new.",
    )


async def digest_list(bot: LikesBot, interaction: discord.Interaction) -> None:
    conn = bot.store.conn
    digests = await store.guild_digests(conn, interaction.guild_id or 0)
    if not digests:
        await _answer(interaction, "This server has no digests yet: `/digest add` creates one.")
        return
    notices = [d for d in digests if d.creator_notice and d.creator_id == interaction.user.id]
    lines = [f"⚠️ {d.creator_notice}" for d in notices]
    lines += [describe_digest(d) for d in digests]
    embed = discord.Embed(title="Digests of this server", description="\n".join(fit_lines(lines, LIST_LIMIT)))
    bot.stamp(embed)
    await answer(interaction, embed=embed)
    for digest in notices:
        # Told once: the notice was shown to its creator.
        await store.clear_creator_notice(conn, digest.id)


async def digest_remove(
    bot: LikesBot, interaction: discord.Interaction, *, digest: int, live: LiveFeed | None = None,
) -> None:
    found = await _find(bot, interaction, digest)
    if found is None:
        return
    await store.delete_digest(bot.store.conn, found.id)
    if live is not None and policy.is_live(found.every_seconds):
        try:
            await live.released()
        except errors.XApiError as refused:
            await _answer(interaction, f"Digest #{found.id} removed. X did not delete its live-likes "
                          f"subscription now ({refused.message}); LikeLens deletes it at its next start.")
            return
    await _answer(interaction, f"Digest #{found.id} removed.")


async def digest_pause(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    found = await _find(bot, interaction, digest)
    if found is None:
        return
    if found.state != "active":
        await _answer(interaction, f"Digest #{found.id} is already {found.state}.")
        return
    who = discord.utils.escape_markdown(interaction.user.name)
    reason = f"paused by {who}. `/digest resume digest:{found.id}` starts it again"
    await store.set_state(bot.store.conn, found.id, "paused", reason=reason, next_run_at=None)
    await _answer(interaction, f"Digest #{found.id} paused; its settings and seen items are kept.")


async def digest_resume(bot: LikesBot, interaction: discord.Interaction, *, digest: int) -> None:
    found = await _find(bot, interaction, digest)
    if found is None:
        return
    if found.state == "active":
        await _answer(interaction, f"Digest #{found.id} is already active.")
        return
    channel = interaction.guild.get_channel(found.channel_id) if interaction.guild else None
    if not isinstance(channel, discord.TextChannel):
        await _answer(interaction, f"Digest #{found.id}'s channel is gone: remove it and add it again.")
        return
    missing = missing_permissions(channel)
    if missing:
        await _answer(interaction, f"LikeLens still lacks {', '.join(missing)} in {channel.mention}.")
        return
    # A live digest is never scheduled: the stream feeds it again once it is active.
    next_run = None if policy.is_live(found.every_seconds) else bot.clock().timestamp()
    await store.set_state(bot.store.conn, found.id, "active", reason=None, next_run_at=next_run, failures=0)
    await store.clear_creator_notice(bot.store.conn, found.id)
    await _answer(interaction, f"Digest #{found.id} resumed: it runs within a minute.")


async def digest_run(
    bot: LikesBot, scheduler: DigestScheduler, interaction: discord.Interaction, *, digest: int
) -> None:
    found = await _find(bot, interaction, digest)
    if found is None:
        return
    if found.state != "active":
        await _answer(interaction, f"Digest #{found.id} is {state_phrase(found)}.")
        return
    if policy.is_live(found.every_seconds):
        await _answer(interaction, f"Digest #{found.id} is live: it posts each new like within seconds, "
                      "so there is nothing to run.")
        return
    await defer(interaction)
    outcome = await scheduler.run_now(found.id)
    await _answer(interaction, outcome.text)


async def digest_choices(
    bot: LikesBot, interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[int]]:
    """Autocomplete of `digest:`: this guild's digests whose id or description contains what was typed."""
    typed = current.strip().lower().lstrip("#")
    choices = []
    for digest in await store.guild_digests(bot.store.conn, interaction.guild_id or 0):
        name = f"#{digest.id} {describe(digest.subject_kind, digest.subject_id)} ({digest.state})"
        if typed in name.lower():
            choices.append(app_commands.Choice(name=name[:100], value=digest.id))
    return choices[:25]

