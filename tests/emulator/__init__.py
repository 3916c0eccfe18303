"""A local Discord (REST + gateway) that the unmodified discord.py client talks to in tests.

Fixtures (tests/conftest.py): `emulator` (started DiscordEmulator), `x_sandbox`, `bot` (a READY
LikesBot on both, SQLite in tmp_path) and `driver` (tests/botharness.InteractionDriver).

    result = await driver.slash("likes post", post="https://x.com/a/status/1", public=True)
    result.callback_type        # 4 message, 5 deferred, 6/7 component update
    result.response             # the response Message after every edit: .content .embed .buttons .files
    result.followups            # follow-up Messages
    page2 = await driver.click(result, "pager:next")     # settles the bot's tasks first
    await driver.slash("digest add", subject="liked", channel="digests", every="6h",
                       member=emulator.member("helper", discord.Permissions(manage_guild=True)),
                       in_channel="general")
    await driver.autocomplete("digest remove", "digest", "1")

World and faults: `emulator.guild`, `emulator.channel("digests")`, `emulator.add_channel(name,
bot_deny=...)` (before the bot connects), `await emulator.set_bot_deny(channel, perms)`,
`await emulator.delete_channel(channel)`, `emulator.fail_next(method, route, status, code=…)`,
`emulator.callback_deadline` (3 s, as Discord). `emulator.stall_next(method, route)` carries out a
request but holds its answer until the returned event is set (a crash after Discord accepted);
`emulator.closed_dms` holds user ids whose DMs answer 403/50007. Channel history (GET
/channels/{id}/messages) leaves out `nonce`, as Discord does. Records: `emulator.requests` /
`requests_to(method, route)`, `emulator.messages_in(channel)`, `emulator.interactions`,
`emulator.identify_payloads`, `await emulator.wait_until(predicate, what=…)`.
Every JSON body is validated against Discord's OpenAPI request schema (tests/spec); a payload
Discord would refuse gets 400/50035 and discord.py raises HTTPException.

As strict as Discord: `emulator.clock.advance(minutes=15)` (the emulator's own clock) expires
interaction tokens (401/50027; a callback after 3 s is 404/10062); a token reaches only its own
interaction's messages (404/10008); the bot edits only its own channel messages (403/50005,
`emulator.post_as(member, channel, text)` writes one as a member); ephemeral messages are not in
channel history nor fetchable there: `emulator.history(channel)` is what everyone sees,
`emulator.seen_by(member, channel)` what member sees. Every route answers with Discord's
X-RateLimit-* headers (`RecordedRequest.response_headers`, `.at` on the emulator's clock);
`emulator.rate_limit_next(method, route, count=, retry_after=, scope=)` and
`emulator.rate_limit_globally(...)` force 429s; `DiscordEmulator(rate_limits=RateLimits.discord())`
applies Discord's observed limits (the default has room enough for every test and benchmark).
Gateway: `await emulator.drop_gateway()` (no close frame), `send_reconnect()` (op 7),
`invalidate_session(resumable=False)` (op 9), `hold_gateway()` (no HELLO until set: the bot stays
offline), `await emulator.wait_for_resumes(n)` / `wait_for_readies(n)`; RESUME replays the events
after the client's seq, then RESUMED. Sharding (sharding.py): `emulator.sharding` (GET /gateway/bot's
`shards` and session start limit, `max_guilds_per_shard` for 4011), `emulator.add_guild(name,
shard=(id, count))`; each guild's events go only to its shard's session; a bad shard closes 4010.
"""

from tests.emulator.replies import DiscordError
from tests.emulator.server import DiscordEmulator
from tests.emulator.state import Channel, Guild, Interaction, Member, Message, RecordedRequest, User

__all__ = [
    "Channel", "DiscordEmulator", "DiscordError", "Guild", "Interaction", "Member", "Message",
    "RecordedRequest", "User",
]
