"""The web server's pages in a real headless Chromium: what a person sees, and what never happens.

The consent step is a tiny stand-in for X's page (it redirects at once, as X does after Approve or
Cancel); the callback handler is tests.web.support's, on the real state store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import pytest_asyncio
from aiohttp import web

from accounts.oauth_flow import CONNECT_SCOPES, OAuthClientConfig, authorization_request
from store.db import open_database
from store.oauth_states import OAuthStates
from tests.web.support import Health, StateCheckingHandler, running_web
from web import WebServer

if TYPE_CHECKING:
    # Only annotations: without playwright this module still collects, and its tests skip.
    from playwright.async_api import Page, Route

NOW = 1_800_000_000.0
CONSENT_CODE = "consent-code-b64-Zm9vYmFyYmF6"


class ConsentStandIn:
    """X's consent page reduced to its redirect: Approve (code) or Cancel (error=access_denied)."""

    def __init__(self) -> None:
        self.approve = True
        self.runner: web.AppRunner | None = None
        self.authorize_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/i/oauth2/authorize", self._authorize)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.authorize_url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/i/oauth2/authorize"

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        answer = {"state": query["state"]}
        answer |= {"code": CONSENT_CODE} if self.approve else {"error": "access_denied"}
        raise web.HTTPFound(f"{query['redirect_uri']}?{urlencode(answer)}")


class Scene:
    """A running web server with its state store, health switch and the consent stand-in."""

    def __init__(
        self, server: WebServer, states: OAuthStates, health: Health, consent: ConsentStandIn,
    ) -> None:
        self.server, self.states, self.health, self.consent = server, states, health, consent

    def config(self) -> OAuthClientConfig:
        return OAuthClientConfig("client", self.server.callback_url, authorize_url=self.consent.authorize_url)


@pytest_asyncio.fixture
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    conn = await open_database(tmp_path / "likelens.db")
    states, health, consent = OAuthStates(conn), Health(), ConsentStandIn()
    await consent.start()
    try:
        async with running_web(StateCheckingHandler(states, clock=lambda: NOW), health) as server:
            yield Scene(server, states, health, consent)
    finally:
        assert consent.runner is not None
        await consent.runner.cleanup()
        await conn.close()


async def _seen(page: Page) -> tuple[str, str, str, str | None]:
    """(title, the h1, the one paragraph, html lang) as the browser shows them."""
    paragraphs = page.get_by_role("paragraph")
    assert await paragraphs.count() == 1
    heading = page.get_by_role("heading", level=1)
    assert await heading.count() == 1
    return (await page.title(), await heading.inner_text(), await paragraphs.inner_text(),
            await page.locator("html").get_attribute("lang"))


async def _no_script_and_no_secret_link(page: Page, *secrets: str) -> None:
    assert await page.evaluate("document.scripts.length") == 0
    targets: list[str] = await page.eval_on_selector_all(
        "[href], [src], [action], [formaction]",
        "nodes => nodes.map(n => n.getAttribute('href') || n.getAttribute('src') || "
        "n.getAttribute('action') || n.getAttribute('formaction'))",
    )
    assert all(secret not in target for target in targets for secret in secrets)
    text = await page.inner_text("body")
    assert all(secret not in text for secret in secrets)


async def test_approving_on_x_lands_on_a_page_that_says_what_happened(
    scene: Scene, browser_page: Page,
) -> None:
    request = authorization_request(scene.config(), CONNECT_SCOPES)
    await scene.states.save(request.state, purpose="connect", guild_id=4242, member_id=7,
                            code_verifier=request.code_verifier, now=NOW)
    response = await browser_page.goto(request.url)
    assert response is not None and response.status == 200
    landed = urlsplit(browser_page.url)
    assert landed.path == "/x/callback" and parse_qs(landed.query)["code"] == [CONSENT_CODE]
    assert await _seen(browser_page) == (
        "Answer received · LikeLens", "Answer received",
        "X answered for server 4242. You can close this tab.", "en",
    )
    headers = await response.all_headers()
    assert headers["cache-control"] == "no-store" and headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in headers["content-security-policy"]
    await _no_script_and_no_secret_link(browser_page, CONSENT_CODE, request.state, request.code_verifier)

    # Reloading replays the used state: the page says the link is spent.
    again = await browser_page.reload()
    assert again is not None and again.status == 400
    assert (await _seen(browser_page))[1:3] == (
        "Link expired",
        "This sign-in link has expired or was already used, so nothing was connected; run /x connect again.",
    )


async def test_cancelling_on_x_says_nothing_was_connected(scene: Scene, browser_page: Page) -> None:
    scene.consent.approve = False
    request = authorization_request(scene.config(), CONNECT_SCOPES)
    await scene.states.save(request.state, purpose="connect", guild_id=1, member_id=2,
                            code_verifier=request.code_verifier, now=NOW)
    response = await browser_page.goto(request.url)
    assert response is not None and response.status == 200
    assert await _seen(browser_page) == (
        "Nothing connected · LikeLens", "Nothing connected",
        "You cancelled on X, so nothing was connected.", "en",
    )
    await _no_script_and_no_secret_link(browser_page, request.state)


async def test_an_unknown_state_is_a_page_that_says_so(scene: Scene, browser_page: Page) -> None:
    forged = "forged-state-0123456789abcdefghij"
    response = await browser_page.goto(f"{scene.server.base_url}/x/callback?state={forged}&code=abc")
    assert response is not None and response.status == 400
    title, heading, sentence, lang = await _seen(browser_page)
    assert (title, heading, lang) == ("Link expired · LikeLens", "Link expired", "en")
    assert "expired or was already used" in sentence
    await _no_script_and_no_secret_link(browser_page, forged, "abc")


async def test_healthz_shows_connected_then_unavailable(scene: Scene, browser_page: Page) -> None:
    response = await browser_page.goto(scene.server.base_url + "/healthz")
    assert response is not None and response.status == 200
    assert (await browser_page.inner_text("body")).strip() == "ok: connected to Discord"
    scene.health.connected = False
    response = await browser_page.reload()
    assert response is not None and response.status == 503
    assert (await browser_page.inner_text("body")).strip() == "unavailable: not connected to Discord"


async def test_the_browser_refuses_to_run_a_script_slipped_into_a_page(
    scene: Scene, browser_page: Page,
) -> None:
    """The CSP header is enforced, not decoration: a script injected into the body does not run."""
    violations: list[str] = []
    browser_page.on("console", lambda message: violations.append(message.text))

    async def inject(route: Route) -> None:
        original = await route.fetch()
        body = (await original.text()).replace("</main>", "<script>document.title = 'ran'</script></main>")
        await route.fulfill(response=original, body=body)

    await browser_page.route("**/x/callback*", inject)
    await browser_page.goto(f"{scene.server.base_url}/x/callback?error=access_denied&state=s")
    assert await browser_page.evaluate("document.scripts.length") == 1
    assert await browser_page.title() == "Nothing connected · LikeLens"
    assert any("Content Security Policy" in text for text in violations), violations


@pytest.mark.parametrize("path", ["/nowhere", "/x/callback"])
async def test_other_pages_are_plain_too(scene: Scene, browser_page: Page, path: str) -> None:
    response = await browser_page.goto(scene.server.base_url + path)
    assert response is not None
    title, _heading, sentence, lang = await _seen(browser_page)
    assert lang == "en" and title.endswith(" · LikeLens") and sentence.endswith(".")
    await _no_script_and_no_secret_link(browser_page)
