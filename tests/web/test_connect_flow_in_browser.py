"""The whole browser leg of an authorization in headless Chromium: the consent URL LikeLens builds,
X's redirect (the local stand-in for X's OAuth 2.0), /x/callback, the code exchange, the page.

The handler is what the bot's will be minus storing the tokens: finish_authorization, then a page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest_asyncio

from accounts.oauth_callback import CompletedAuthorization, finish_authorization
from accounts.oauth_flow import (
    CONNECT_SCOPES,
    CallbackQuery,
    OAuthClientConfig,
    OAuthFlowError,
    authorization_request,
)
from store.db import open_database
from store.oauth_states import OAuthStates
from tests.accounts.fake_x_oauth import FakeXOAuth
from tests.web.support import running_web
from web import CallbackPage, WebServer, page_for_flow_error

if TYPE_CHECKING:
    from playwright.async_api import Page

NOW = 1_800_000_000.0


@dataclass
class ConnectHandler:
    states: OAuthStates
    session: aiohttp.ClientSession
    config: OAuthClientConfig | None = None
    completed: list[CompletedAuthorization] = field(default_factory=list)

    async def __call__(self, query: CallbackQuery) -> CallbackPage:
        assert self.config is not None
        try:
            done = await finish_authorization(
                query, states=self.states, session=self.session, config=self.config, now=NOW + 2,
            )
        except OAuthFlowError as error:
            return page_for_flow_error(error)
        self.completed.append(done)
        return CallbackPage(
            "Connected", f"Connected @{done.account.username} to server {done.pending.guild_id}. "
            "You can close this tab.",
        )


@dataclass
class Deployment:
    fake: FakeXOAuth
    server: WebServer
    states: OAuthStates
    handler: ConnectHandler
    config: OAuthClientConfig

    async def connect_url(self) -> tuple[str, list[str]]:
        """As /x connect would: a state saved, and the consent URL of its button."""
        request = authorization_request(self.config, CONNECT_SCOPES)
        await self.states.save(request.state, purpose="connect", guild_id=77, member_id=5,
                               code_verifier=request.code_verifier, now=NOW)
        return request.url, [request.state, request.code_verifier]


@pytest_asyncio.fixture
async def deployment(tmp_path: Path) -> AsyncIterator[Deployment]:
    fake = FakeXOAuth()
    await fake.start()
    conn = await open_database(tmp_path / "likelens.db")
    states = OAuthStates(conn)
    try:
        async with aiohttp.ClientSession() as session:
            handler = ConnectHandler(states, session)
            async with running_web(handler) as server:
                fake.redirect_uri = server.callback_url
                config = OAuthClientConfig(
                    fake.client_id, server.callback_url, authorize_url=fake.authorize_url,
                    api_base_url=fake.base_url,
                )
                handler.config = config
                yield Deployment(fake, server, states, handler, config)
    finally:
        await conn.close()
        await fake.close()


async def _shown(page: Page) -> tuple[str, str, str]:
    return (await page.title(), await page.get_by_role("heading", level=1).inner_text(),
            await page.get_by_role("paragraph").inner_text())


async def _holds_no_secret(page: Page, secrets: list[str]) -> None:
    html = await page.content()
    assert await page.evaluate("document.scripts.length") == 0
    assert all(secret not in html for secret in secrets)


async def test_approving_connects_the_account_and_the_page_says_so(
    deployment: Deployment, browser_page: Page,
) -> None:
    url, secrets = await deployment.connect_url()
    response = await browser_page.goto(url)
    assert response is not None and response.status == 200
    assert await _shown(browser_page) == (
        "Connected · LikeLens", "Connected",
        "Connected @likelens_community to server 77. You can close this tab.",
    )
    [done] = deployment.handler.completed
    assert done.pending.guild_id == 77 and done.grant.refresh_token is not None
    await _holds_no_secret(browser_page, [*secrets, done.grant.access_token, done.grant.refresh_token])


async def test_cancelling_on_x_connects_nothing(deployment: Deployment, browser_page: Page) -> None:
    deployment.fake.approve = False
    url, secrets = await deployment.connect_url()
    await browser_page.goto(url)
    assert await _shown(browser_page) == (
        "Nothing connected · LikeLens", "Nothing connected", "You cancelled on X, so nothing was connected.",
    )
    assert deployment.handler.completed == [] and deployment.fake.token_requests == []
    await _holds_no_secret(browser_page, secrets)


async def test_a_code_that_expired_before_the_exchange_connects_nothing(
    deployment: Deployment, browser_page: Page,
) -> None:
    deployment.fake.expire_codes_at_once = True
    url, secrets = await deployment.connect_url()
    response = await browser_page.goto(url)
    assert response is not None and response.status == 400
    title, _heading, sentence = await _shown(browser_page)
    assert title == "Sign-in expired · LikeLens" and "30 seconds" in sentence
    assert deployment.handler.completed == []
    await _holds_no_secret(browser_page, secrets)


async def test_a_suspended_account_connects_nothing_and_its_tokens_are_revoked(
    deployment: Deployment, browser_page: Page,
) -> None:
    deployment.fake.suspended = True
    url, secrets = await deployment.connect_url()
    response = await browser_page.goto(url)
    assert response is not None and response.status == 403
    assert await _shown(browser_page) == (
        "Account suspended · LikeLens", "Account suspended",
        "X says this account is suspended, so it cannot be connected.",
    )
    assert deployment.fake.live_tokens == set() and len(deployment.fake.revoked) == 2
    await _holds_no_secret(browser_page, [*secrets, *(token for token, _ in deployment.fake.revoked)])


async def test_the_back_button_replays_nothing(deployment: Deployment, browser_page: Page) -> None:
    url, _ = await deployment.connect_url()
    await browser_page.goto(url)
    await browser_page.goto(deployment.server.base_url + "/healthz")
    response = await browser_page.go_back()
    assert response is not None and response.status == 400
    assert (await _shown(browser_page))[1] == "Link expired"
    assert len(deployment.handler.completed) == 1
