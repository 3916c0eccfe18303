"""/link and /unlink end to end: the slash command in the Discord emulator (consent sentence before
the link button), the link button opened in headless Chromium, the X sandbox's consent page, the
bot's /x/callback page, the edited ephemeral answer, the link stored and the member's token revoked
at X and absent from the database; a second member refused the same X account; /unlink.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from accounts import oauth_flow
from tests.accounts_support import connect_sandbox_account
from tests.botharness import InteractionDriver, InteractionResult
from tests.e2e.likes_support import assert_no_pings
from tests.emulator import DiscordEmulator, Member
from tests.web.connect_support import Shown, connect_bot, consent, link_url
from xapi.sandbox import COMMUNITY_HARBOR, COMMUNITY_MAPLE, XSandbox
from xapi.sandbox.oauth2_tokens import Issued, OAuth2Tokens

if TYPE_CHECKING:
    from playwright.async_api import Page

CONSENT = ("Your X handle will be shown to this server's moderators beside your likes of @maple\\_guild's "
           "posts. `/unlink` removes it.")


class Issuing:
    """Every token the sandbox issues and every PKCE verifier made, recorded where they are made."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.secrets: list[str] = []


@pytest.fixture
def issuing(monkeypatch: pytest.MonkeyPatch) -> Issuing:
    found = Issuing()
    issue, new_verifier = OAuth2Tokens.issue, oauth_flow.new_code_verifier

    def recording_issue(self: OAuth2Tokens, *args: object, **kwargs: object) -> Issued:
        issued = issue(self, *args, **kwargs)  # type: ignore[arg-type]
        found.tokens.extend(t for t in (issued.access_token, issued.refresh_token) if t)
        return issued

    def recording_verifier() -> str:
        verifier = new_verifier()
        found.secrets.append(verifier)
        return verifier

    monkeypatch.setattr(OAuth2Tokens, "issue", recording_issue)
    monkeypatch.setattr(oauth_flow, "new_code_verifier", recording_verifier)
    return found


def database_text(folder: Path) -> str:
    """The bytes of the SQLite database and its companions (WAL, journal), as text."""
    return "".join(f.read_bytes().decode("latin-1") for f in sorted(folder.glob("likelens.db*")))


async def link_in_browser(
    driver: InteractionDriver, page: Page, member: Member, *, handle: str,
) -> tuple[InteractionResult, Shown]:
    result = await driver.slash("link", member=member)
    return result, await consent(page, link_url(result.response), handle=handle)


async def test_link_shows_consent_first_links_revokes_the_token_and_unlink_removes_it(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page, *, issuing: Issuing,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        guild_id = int(emulator.guild.id)
        await connect_sandbox_account(bot, x_sandbox, guild_id, handle="maple_guild")
        server_tokens = len(issuing.tokens)
        driver = InteractionDriver(emulator)
        member = emulator.member("harbor_fan")
        result = await driver.slash("link", member=member)
        # Consent first: the sentence opens the answer, above the one button that gives it.
        assert result.ephemeral and result.content.startswith(CONSENT + "\n\n"), result.content
        url = link_url(result.response)
        assert parse_qs(urlsplit(url).query)["scope"] == ["tweet.read users.read"]
        assert await bot.member_links.by_member(guild_id, int(member.user.id)) is None
        page = await consent(browser_page, url, handle="harbor_club")
        assert (page.status, page.heading, page.sentence) == (
            200, "Linked",
            f"Linked @harbor_club to your account on {emulator.guild.name}. You can close this tab.")
        assert result.content == "Linked @harbor\\_club to your account on this server."
        assert result.response.components == []
        link = await bot.member_links.by_member(guild_id, int(member.user.id))
        assert link is not None and (link.x_user_id, link.handle) == (COMMUNITY_HARBOR.id, "harbor_club")
        member_tokens = issuing.tokens[server_tokens:]
        assert member_tokens, "the sandbox issued the member no token"
        # Revoked at X: the member's access token no longer works there.
        assert not any(x_sandbox.oauth2.is_live(token) for token in member_tokens)
        assert x_sandbox.requests_to("/2/oauth2/revoke")
        # The server's own account still serves.
        assert bot.accounts.serving(guild_id) is not None
        assert bot.accounts.serving(guild_id).handle == "maple_guild"  # type: ignore[union-attr]
        database = database_text(tmp_path)
        # No token the sandbox issued (the server's are stored encrypted) and no verifier, in any file.
        assert not [t for t in issuing.tokens + issuing.secrets if t in database]
        assert COMMUNITY_HARBOR.id in database

        unlinked = await driver.slash("unlink", member=member)
        assert unlinked.ephemeral
        assert unlinked.content == "Unlinked @harbor\\_club: moderators no longer see it beside your likes."
        assert_no_pings(unlinked)
        assert await bot.member_links.by_member(guild_id, int(member.user.id)) is None
        again = await driver.slash("unlink", member=member)
        assert again.content == "Your Discord account here is not linked to an X account: nothing to remove."


async def test_a_second_member_is_refused_an_x_account_already_linked_here(
    emulator: DiscordEmulator, x_sandbox: XSandbox, tmp_path: Path, browser_page: Page, *, issuing: Issuing,
) -> None:
    async with connect_bot(emulator, x_sandbox, tmp_path / "likelens.db") as bot:
        guild_id = int(emulator.guild.id)
        await connect_sandbox_account(bot, x_sandbox, guild_id, handle="maple_guild")
        driver = InteractionDriver(emulator)
        first, second = emulator.member("first"), emulator.member("second")
        await link_in_browser(driver, browser_page, first, handle="harbor_club")
        before = len(issuing.tokens)
        result, page = await link_in_browser(driver, browser_page, second, handle="harbor_club")
        assert (page.status, page.heading, page.sentence) == (
            409, "Nothing linked",
            "@harbor_club is already linked to another member of this server, so nothing was linked.")
        assert result.content == (
            "@harbor\\_club is already linked to another member of this server, so nothing was linked.")
        assert await bot.member_links.by_member(guild_id, int(second.user.id)) is None
        held = await bot.member_links.by_member(guild_id, int(first.user.id))
        assert held is not None and held.x_user_id == COMMUNITY_HARBOR.id
        # The refused member's token is revoked too.
        refused_tokens = issuing.tokens[before:]
        assert refused_tokens and not any(x_sandbox.oauth2.is_live(t) for t in refused_tokens)
        # The same member may link another account instead (one per member: it replaces).
        _, page = await link_in_browser(driver, browser_page, second, handle="orbit_makers")
        assert page.heading == "Linked"
        assert (await bot.member_links.by_x_ids(guild_id, [COMMUNITY_MAPLE.id])) == {}
