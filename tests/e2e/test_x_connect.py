"""/x connect end to end: the slash command in the Discord emulator, its link button opened in headless
Chromium, the X sandbox's consent page, the bot's /x/callback page as a person sees it, the edited
ephemeral answer, and the account stored (encrypted) serving /likes. Then what must not connect:
cancel, replayed and forged states, an expired code; and the paste-the-address modal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from accounts import oauth_flow
from tests.botharness import InteractionDriver
from tests.emulator import DiscordEmulator
from tests.web.connect_support import (
    PASTE_ID,
    connect_bot,
    connect_in_browser,
    consent,
    link_url,
    shown,
    submit_modal,
)
from xapi.sandbox import COMMUNITY_HARBOR, COMMUNITY_MAPLE, XSandbox
from xapi.sandbox.oauth2_tokens import Issued, OAuth2Tokens

if TYPE_CHECKING:
    from playwright.async_api import Page

    from bot import LikesBot

CONNECTED_ANSWER = "Connected @maple\\_guild to this server."


class Secrets:
    """Every code, token and verifier of the flow, recorded where they are made (sandbox and client)."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def assert_absent_from(self, text: str | bytes, where: str) -> None:
        haystack = text if isinstance(text, str) else text.decode("latin-1")
        leaked = [value for value in self.values if value in haystack]
        assert not leaked, f"{len(leaked)} secret(s) found in {where}"


def database_files(folder: Path) -> list[tuple[str, bytes]]:
    """The bytes of the SQLite database and its companions (WAL, journal)."""
    return [(file.name, file.read_bytes()) for file in sorted(folder.glob("likelens.db*"))]


def connected_handle(bot: LikesBot, guild_id: str) -> str | None:
    """The handle of the account guild_id connected, or None (a configured account does not count)."""
    serving = bot.accounts.serving(int(guild_id))
    return serving.handle if serving is not None and serving.how == "connected" else None


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Secrets]:
    found = Secrets()
    new_code, issue = OAuth2Tokens.new_code, OAuth2Tokens.issue
    new_verifier = oauth_flow.new_code_verifier

    def recording_code(self: OAuth2Tokens, *args: object, **kwargs: object) -> str:
        code = new_code(self, *args, **kwargs)  # type: ignore[arg-type]
        found.values.append(code)
        return code

    def recording_issue(self: OAuth2Tokens, *args: object, **kwargs: object) -> Issued:
        issued = issue(self, *args, **kwargs)  # type: ignore[arg-type]
        found.values.extend(t for t in (issued.access_token, issued.refresh_token) if t)
        return issued

    def recording_verifier() -> str:
        verifier = new_verifier()
        found.values.append(verifier)
        return verifier

    monkeypatch.setattr(OAuth2Tokens, "new_code", recording_code)
    monkeypatch.setattr(OAuth2Tokens, "issue", recording_issue)
    monkeypatch.setattr(oauth_flow, "new_code_verifier", recording_verifier)
    yield found


async def test_connecting_in_the_browser_edits_the_answer_stores_the_account_and_serves_likes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page, *, secrets: Secrets,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    database = tmp_path / "likelens.db"
    async with connect_bot(emulator, x_sandbox, database) as bot:
        driver = InteractionDriver(emulator)
        result, page = await connect_in_browser(driver, browser_page)
        assert (page.status, page.title, page.heading, page.sentence) == (
            200, "Connected · LikeLens", "Connected",
            f"Connected @maple_guild to {emulator.guild.name}. You can close this tab.",
        )
        # The ephemeral answer, as the member sees it now: the sentence, no buttons left.
        assert result.ephemeral and result.content == CONNECTED_ANSWER
        assert result.response.components == []
        serving = bot.accounts.serving(int(emulator.guild.id))
        assert serving is not None and (serving.how, serving.handle, serving.x_user_id) == (
            "connected", "maple_guild", COMMUNITY_MAPLE.id)
        assert serving.connected_by == int(driver.moderator.user.id)
        # The connected account serves /likes post: the configured account may not read this post.
        likes = await driver.slash("likes post", post=COMMUNITY_MAPLE.post_ids[0])
        shown_likers = str(likes.embed)
        assert all(f"maple\\\\_fan\\\\_0{n}" in shown_likers for n in range(1, 7)), likes.embed
        for message in emulator.messages.values():
            secrets.assert_absent_from(str(message.data), "a Discord message")
        for request in emulator.requests:
            secrets.assert_absent_from(str(request.json), "a request to Discord")
        secrets.assert_absent_from(page.html, "the callback page")
    assert len(secrets.values) >= 4  # verifier, code, access and refresh tokens
    for name, content in database_files(tmp_path):
        secrets.assert_absent_from(content, name)
    secrets.assert_absent_from(caplog.text, "the log")


async def test_cancel_on_the_consent_page_connects_nothing_and_says_so(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        result, page = await connect_in_browser(InteractionDriver(emulator), browser_page, approve=False)
        assert (page.heading, page.sentence) == (
            "Nothing connected", "You cancelled on X, so nothing was connected.")
        assert connected_handle(bot, emulator.guild.id) is None
        # The answer still offers the link: cancelling does not spend it.
        assert PASTE_ID in result.response.buttons
        assert [r for r in x_sandbox.requests if r.path == "/2/oauth2/token"] == []


async def test_a_replayed_callback_and_a_forged_state_connect_nothing(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        _result, page = await connect_in_browser(InteractionDriver(emulator), browser_page)
        assert page.heading == "Connected"
        callback_address = browser_page.url
        exchanges = len(x_sandbox.requests_to("/2/oauth2/token"))
        await bot.accounts.disconnect(int(emulator.guild.id))
        # The same address again (the back button, a copied link): the state is spent.
        response = await browser_page.goto(callback_address)
        replay = await shown(browser_page, response.status if response else 0)
        assert (replay.status, replay.heading) == (400, "Link expired")
        assert "expired or was already used" in replay.sentence
        forged = callback_address.split("state=")[0] + "state=forged-state-0123456789&code=abc"
        response = await browser_page.goto(forged)
        assert (await shown(browser_page, response.status if response else 0)).heading == "Link expired"
        # Nothing was sent to X for either, and nothing connected.
        assert len(x_sandbox.requests_to("/2/oauth2/token")) == exchanges
        assert connected_handle(bot, emulator.guild.id) is None


async def test_a_code_that_expired_before_the_callback_connects_nothing(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    x_sandbox.oauth2.code_lifetime = 0.0  # X's codes live 30 s; this one is dead on arrival
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        result, page = await connect_in_browser(InteractionDriver(emulator), browser_page)
        assert (page.status, page.heading) == (400, "Sign-in expired")
        assert "expired" in page.sentence and "start again from Discord" in page.sentence
        assert connected_handle(bot, emulator.guild.id) is None
        assert result.content != CONNECTED_ANSWER


async def test_the_paste_the_address_modal_connects_like_the_callback(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    # No public address: PUBLIC_BASE_URL names a port nothing listens on, as behind a home router.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db", public_base_url=unreachable) as bot:
        driver = InteractionDriver(emulator)
        result = await driver.slash("x connect")
        failed: list[str] = []
        browser_page.on("requestfailed", lambda request: failed.append(request.url))
        await browser_page.goto(link_url(result.response))
        await browser_page.get_by_label("@harbor_club", exact=False).check()
        from playwright.async_api import Error as PlaywrightError  # noqa: PLC0415 (optional dev dependency)

        with contextlib.suppress(PlaywrightError):
            await browser_page.get_by_role("button", name="Approve").click()
            await browser_page.wait_for_load_state()
        for _ in range(500):
            if failed:
                break
            await asyncio.sleep(0.01)
        [address] = failed
        assert address.startswith(unreachable + "/x/callback?")
        opened = await driver.click(result, PASTE_ID)
        assert opened.callback_type == 9  # the modal
        wrong = await submit_modal(driver, await driver.click(result, PASTE_ID), "https://example.org/nothing")
        assert "lacks the code or the state" in wrong.followups[-1].content
        submitted = await submit_modal(driver, opened, address)
        assert submitted.response.content == "Connected @harbor\\_club to this server."
        serving = bot.accounts.serving(int(emulator.guild.id))
        assert serving is not None and serving.handle == COMMUNITY_HARBOR.username
        assert submitted.response.components == []
        # The same address pasted again (from a new /x connect): the state is spent, nothing changes.
        second = await driver.slash("x connect")
        again = await submit_modal(driver, await driver.click(second, PASTE_ID), address)
        assert "expired or was already used" in again.followups[-1].content


async def test_connect_url_is_x_consent_page_with_pkce_and_the_four_scopes(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        result = await InteractionDriver(emulator).slash("x connect")
        url = link_url(result.response)
        assert url.startswith(x_sandbox.base_url + "/i/oauth2/authorize?")
        assert "code_challenge_method=S256" in url
        assert "scope=tweet.read%20users.read%20like.read%20offline.access" in url
        assert "redirect_uri=" + quote(bot.web.callback_url, safe="") in url
        page = await consent(browser_page, url, handle="orbit_makers")
        assert page.sentence == f"Connected @orbit_makers to {emulator.guild.name}. You can close this tab."


@pytest.mark.parametrize("failure", ["suspended", "token endpoint down"])
async def test_a_suspended_account_or_a_failed_exchange_connects_nothing_and_says_so(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page, failure: str,
) -> None:
    if failure == "suspended":
        x_sandbox.suspend_account(COMMUNITY_MAPLE.id)
    else:
        x_sandbox.token_endpoint_down = True
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        result, page = await connect_in_browser(InteractionDriver(emulator), browser_page)
        expected = {"suspended": (403, "Account suspended", "X says this account is suspended"),
                    "token endpoint down": (502, "X is unavailable", "X had a problem with the sign-in")}
        status, heading, sentence = expected[failure]
        assert (page.status, page.heading) == (status, heading) and page.sentence.startswith(sentence)
        assert connected_handle(bot, emulator.guild.id) is None
        assert result.content != CONNECTED_ANSWER
        if failure == "suspended":
            # The tokens X issued before the lookup were revoked: nothing is left behind at X either.
            assert [r.status for r in x_sandbox.requests_to("/2/oauth2/revoke")] == [200, 200]
