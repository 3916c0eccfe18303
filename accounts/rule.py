"""Which servers the X account configured in the environment serves: pure decisions, no I/O.

The configured account's likes are private to it, and every lookup spends its one request budget:
a server nobody vetted must not read them. So it serves every server under `--sandbox` (simulated
data); else the servers X_ACCOUNT_GUILDS lists; else every server only while the Discord
application is private (nobody but its owner can add the bot), and none while it is public.
"""

from __future__ import annotations

from collections.abc import Iterable

SERVER_REFUSAL = (
    "This server has no X account connected: a server manager can connect one with `/x connect`."
)
DM_REFUSAL = (
    "LikeLens looks up X only in a server with a connected X account: run this in your server, "
    "where a server manager can connect one with `/x connect`."
)


def configured_account_serves(
    guild_id: int | None, *, sandbox: bool, listed: frozenset[int] | None, application_public: bool
) -> bool:
    """True when the configured account answers for guild_id (None: a direct message)."""
    if sandbox:
        return True
    if guild_id is None:
        # A direct message belongs to no server: nobody vetted who asks.
        return False
    if listed is not None:
        return guild_id in listed
    return not application_public


def refusal_sentence(guild_id: int | None) -> str:
    """What a member of an unserved server (or a direct message) is told instead of an answer."""
    return DM_REFUSAL if guild_id is None else SERVER_REFUSAL


def unserved_servers_notice(
    *, sandbox: bool, listed: frozenset[int] | None, application_public: bool, guild_ids: Iterable[int]
) -> str | None:
    """The one start-up log line when the configured account serves no server; else None."""
    if sandbox or listed is not None or not application_public:
        return None
    ids = sorted(guild_ids)
    where = f"it is in the servers {', '.join(map(str, ids))}" if ids else "it is in no server yet"
    return (
        "The Discord application is public and X_ACCOUNT_GUILDS is not set, so the configured X account "
        f"serves no server: set X_ACCOUNT_GUILDS to the ids of the servers it should serve ({where})."
    )
