"""/x connect across two bot processes on one database: the command runs on the process of the server's
shard, X sends the browser back to the other process's web server (as a load balancer would), and
that process finishes the connection from the state the first one stored. Both then serve the
server with the connected account.

Two real LikesBots (shards 0 and 1 of 2) on the Discord emulator, the X sandbox's consent page
driven over HTTP with aiohttp (no browser needed: the test follows the redirect), real SQLite file
or PostgreSQL schema (both engines).
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
from yarl import URL

from tests.accounts_support import community_id, run_in
from tests.botharness import running_bot
from tests.emulator import DiscordEmulator
from tests.web.connect_support import CLIENT_ID, connect_settings, link_url, replace_settings
from tests.xapi.sandbox_oauth_support import App, Consent
from xapi.sandbox import COMMUNITY_MAPLE, XSandbox

CONNECTED_ANSWER = "Connected @maple\\_guild to this server."


async def approve_in_plain_http(sandbox: XSandbox, consent_url: str, handle: str) -> tuple[int, str]:
    """Open the consent page, approve as @handle and follow X's redirect: the callback page (status, text)."""
    async with aiohttp.ClientSession() as browser:
        async with browser.get(consent_url, allow_redirects=False) as response:
            consent = Consent(response.status, await response.text(), "", URL(consent_url).query["state"])
        assert consent.status == 200, consent.html
        consent.form.feed(consent.html)
        back = await App(browser, sandbox, CLIENT_ID).submit(consent, "Approve", community_id(handle))
        async with browser.get(back, allow_redirects=False) as page:
            return page.status, await page.text()


async def test_a_connect_started_on_one_process_is_finished_by_the_other_and_serves_on_both(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path,
) -> None:
    database = tmp_path / "likelens.db"
    guild = emulator.add_guild("Shard Zero Server", shard=(0, 2))
    guild_id = int(guild.id)
    settings = connect_settings(emulator, x_sandbox, database)
    async with running_bot(emulator, settings, shard_id=1, shard_count=2) as other:
        # Every process registers the one public callback address: here, the other process's.
        public = replace_settings(settings, public_base_url=other.web.base_url)
        async with running_bot(emulator, public, shard_id=0, shard_count=2) as first:
            x_sandbox.register_client(CLIENT_ID, [other.web.callback_url])
            assert first.web.callback_url == other.web.callback_url
            started = await run_in(emulator, guild, "x connect")
            status, page = await approve_in_plain_http(x_sandbox, link_url(started.response), "maple_guild")
            # The other process does not hold the server (another shard's): the page names it generically.
            assert status == 200, page
            assert "Connected @maple_guild to your Discord server. You can close this tab." in page, page
            # The member's ephemeral answer, edited by the process that got the callback.
            assert started.content == CONNECTED_ANSWER
            finished = other.accounts.serving(guild_id)
            assert finished is not None and (finished.how, finished.handle) == ("connected", "maple_guild")
            # The process that started it takes the connection up from the store and serves with it.
            await first.accounts.refresh()
            serving = first.accounts.serving(guild_id)
            assert serving is not None and (serving.how, serving.handle) == ("connected", "maple_guild")
            likes = await run_in(emulator, guild, "likes post", post=COMMUNITY_MAPLE.post_ids[0])
            assert likes.embeds and "maple\\\\_fan\\\\_01" in str(likes.embed), likes.content
            other_likers = await other.accounts.x_for(guild_id).liking_users(COMMUNITY_MAPLE.post_ids[0])
            assert any(user.username == "maple_fan_01" for user in other_likers.items)
