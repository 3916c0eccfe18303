"""accounts.oauth_callback: one callback from check to account, on a real SQLite store and the real
aiohttp client against the local stand-in for X's OAuth 2.0 endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio

from accounts import oauth_flow
from accounts.oauth_callback import CompletedAuthorization, finish_authorization
from accounts.oauth_flow import (
    CONNECT_SCOPES,
    AccountSuspended,
    CallbackQuery,
    CodeRejected,
    ConsentDenied,
    OAuthClientConfig,
    UnknownState,
    XUnavailable,
)
from store.db import open_database
from store.oauth_states import OAuthStates
from tests.accounts.fake_x_oauth import FakeXOAuth

NOW = 1_800_000_000.0
REDIRECT = "http://127.0.0.1:8080/x/callback"


class Flow:
    def __init__(self, fake: FakeXOAuth, states: OAuthStates, session: aiohttp.ClientSession) -> None:
        self.fake, self.states, self.session = fake, states, session
        self.config = OAuthClientConfig(fake.client_id, REDIRECT, api_base_url=fake.base_url)

    async def start(self) -> CallbackQuery:
        """Save a state as /x connect would, and follow X's redirect as the browser would."""
        request = oauth_flow.authorization_request(self.config, CONNECT_SCOPES)
        await self.states.save(request.state, purpose="connect", guild_id=9, member_id=8,
                               code_verifier=request.code_verifier, now=NOW)
        consent = request.url.replace("https://x.com", self.fake.base_url)
        async with self.session.get(consent, allow_redirects=False) as response:
            assert response.status == 302
            location = response.headers["Location"]
        assert location.startswith(REDIRECT + "?")
        return CallbackQuery.from_mapping({k: v[0] for k, v in parse_qs(urlsplit(location).query).items()})

    async def finish(self, query: CallbackQuery, now: float = NOW + 3) -> CompletedAuthorization:
        return await finish_authorization(
            query, states=self.states, session=self.session, config=self.config, now=now,
        )


@pytest_asyncio.fixture
async def flow(tmp_path: Path) -> AsyncIterator[Flow]:
    fake = FakeXOAuth(redirect_uri=REDIRECT)
    await fake.start()
    conn = await open_database(tmp_path / "likelens.db")
    try:
        async with aiohttp.ClientSession() as session:
            yield Flow(fake, OAuthStates(conn), session)
    finally:
        await conn.close()
        await fake.close()


async def test_an_approved_callback_gives_the_member_the_tokens_and_the_account(flow: Flow) -> None:
    done = await flow.finish(await flow.start())
    assert (done.pending.purpose, done.pending.guild_id, done.pending.member_id) == ("connect", 9, 8)
    assert done.account.username == "likelens_community"
    assert {done.grant.refresh_token, done.grant.access_token} <= flow.fake.live_tokens
    assert flow.fake.revoked == []


async def test_a_replayed_callback_is_refused_before_anything_is_sent_to_x(flow: Flow) -> None:
    query = await flow.start()
    await flow.finish(query)
    sent = len(flow.fake.token_requests)
    with pytest.raises(UnknownState, match="expired or was already used"):
        await flow.finish(query)
    assert len(flow.fake.token_requests) == sent


async def test_a_forged_or_late_state_is_refused_before_anything_is_sent_to_x(flow: Flow) -> None:
    query = await flow.start()
    forged = CallbackQuery(query.code, "forged-" + "x" * 40)
    with pytest.raises(UnknownState):
        await flow.finish(forged)
    with pytest.raises(UnknownState):
        await flow.finish(query, now=NOW + 601)
    assert flow.fake.token_requests == []


async def test_a_cancelled_consent_sends_nothing_and_keeps_the_state_unspent(flow: Flow) -> None:
    flow.fake.approve = False
    query = await flow.start()
    with pytest.raises(ConsentDenied):
        await flow.finish(query)
    assert flow.fake.token_requests == []
    # The button's link still works for 10 minutes: the member may change their mind.
    assert query.state is not None and await flow.states.consume(query.state, now=NOW + 5) is not None


async def test_an_expired_code_is_refused_and_the_state_is_spent(flow: Flow) -> None:
    flow.fake.expire_codes_at_once = True
    query = await flow.start()
    with pytest.raises(CodeRejected, match="30 seconds"):
        await flow.finish(query)
    with pytest.raises(UnknownState):
        await flow.finish(query)


async def test_a_suspended_account_leaves_no_live_token_at_x(
    flow: Flow, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    flow.fake.suspended = True
    with pytest.raises(AccountSuspended):
        await flow.finish(await flow.start())
    assert [hint for _token, hint in flow.fake.revoked] == ["refresh_token", "access_token"]
    assert flow.fake.live_tokens == set()
    for token, _hint in flow.fake.revoked:
        assert token not in caplog.text


async def test_x_down_at_the_exchange_says_try_again(flow: Flow) -> None:
    query = await flow.start()
    flow.fake.token_status_fault = 503
    with pytest.raises(XUnavailable, match="try again"):
        await flow.finish(query)
