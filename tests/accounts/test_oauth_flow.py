"""accounts.oauth_flow: PKCE (RFC 7636's vector), the consent URL, callbacks, and the real aiohttp client
against a local stand-in for X's token, revoke and users/me endpoints."""

from __future__ import annotations

import base64
import logging
import re
import string
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from oauthlib.oauth2 import WebApplicationClient

from accounts import oauth_flow
from accounts.oauth_flow import (
    CONNECT_SCOPES,
    AccountSuspended,
    AuthorizationFailed,
    CallbackQuery,
    ClientRejected,
    CodeRejected,
    ConsentDenied,
    OAuthClientConfig,
    OAuthFlowError,
    UnexpectedAnswer,
    XUnavailable,
)
from tests.accounts.fake_x_oauth import FakeXOAuth

REDIRECT = "http://127.0.0.1:8080/x/callback"


@pytest_asyncio.fixture
async def fake_x() -> AsyncIterator[FakeXOAuth]:
    server = FakeXOAuth(redirect_uri=REDIRECT)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _config(fake: FakeXOAuth, secret: str | None = None) -> OAuthClientConfig:
    return OAuthClientConfig(fake.client_id, REDIRECT, client_secret=secret, api_base_url=fake.base_url)


# --- pure parts -------------------------------------------------------------------------------


def test_the_s256_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth_flow.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_challenge_agrees_with_oauthlib() -> None:
    verifier = oauth_flow.new_code_verifier()
    expected = WebApplicationClient("id").create_code_challenge(verifier, "S256")
    assert oauth_flow.code_challenge(verifier) == expected


def test_verifiers_are_rfc_7636_shaped_and_states_carry_at_least_128_bits() -> None:
    unreserved = set(string.ascii_letters + string.digits + "-._~")
    verifiers = {oauth_flow.new_code_verifier() for _ in range(200)}
    states = {oauth_flow.new_state() for _ in range(200)}
    assert len(verifiers) == len(states) == 200
    for verifier in verifiers:
        assert 43 <= len(verifier) <= 128 and set(verifier) <= unreserved
    for state in states:
        # URL-safe base64: 6 bits a character, so 22 characters are 132 bits.
        assert len(state) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", state)


def test_the_authorize_url_carries_every_parameter_x_documents() -> None:
    config = OAuthClientConfig("my-client", REDIRECT)
    request = oauth_flow.authorization_request(config, CONNECT_SCOPES)
    parts = urlsplit(request.url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "x.com", "/i/oauth2/authorize")
    query = parse_qs(parts.query, strict_parsing=True)
    assert {k: v[0] for k, v in query.items()} == {
        "response_type": "code", "client_id": "my-client", "redirect_uri": REDIRECT,
        "scope": "tweet.read users.read like.read offline.access", "state": request.state,
        "code_challenge": oauth_flow.code_challenge(request.code_verifier), "code_challenge_method": "S256",
    }
    assert "scope=tweet.read%20users.read%20like.read%20offline.access" in parts.query
    # The verifier itself never leaves LikeLens.
    assert request.code_verifier not in request.url


def test_the_authorize_url_follows_x_authorize_url_and_keeps_its_query() -> None:
    config = OAuthClientConfig("c", REDIRECT, authorize_url="http://127.0.0.1:9999/i/oauth2/authorize?x=1")
    url = oauth_flow.authorize_url(config, ("users.read",), "st", "ch")
    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:9999"
    assert parse_qs(parts.query)["x"] == ["1"] and parse_qs(parts.query)["state"] == ["st"]


def test_reprs_show_no_secret() -> None:
    request = oauth_flow.authorization_request(OAuthClientConfig("c", REDIRECT, client_secret="s3cret"), ())
    texts = [repr(request), repr(CallbackQuery("the-code", "the-state")),
             repr(oauth_flow.TokenGrant("acc-tok", "ref-tok", 7200, ())),
             repr(OAuthClientConfig("c", REDIRECT, client_secret="s3cret"))]
    secrets = (request.state, request.code_verifier, "the-code", "the-state", "acc-tok", "ref-tok", "s3cret")
    for secret in secrets:
        assert all(secret not in text for text in texts)


def test_a_cancelled_consent_says_so() -> None:
    with pytest.raises(ConsentDenied, match="cancelled"):
        oauth_flow.check_callback(CallbackQuery.from_mapping({"error": "access_denied", "state": "s"}))


@pytest.mark.parametrize("query", [
    {"error": "server_error", "state": "s"}, {"state": "s"}, {"code": "c"}, {"code": "", "state": "s"},
    {"code": "c", "state": "s" * 501}, {},
])
def test_an_incomplete_or_failed_callback_says_nothing_was_connected(query: dict[str, str]) -> None:
    with pytest.raises(AuthorizationFailed, match="nothing was connected"):
        oauth_flow.check_callback(CallbackQuery.from_mapping(query))


def test_a_complete_callback_gives_its_code_and_state() -> None:
    query = CallbackQuery.from_mapping({"code": "c1", "state": "s1"})
    assert oauth_flow.check_callback(query) == ("c1", "s1")


def test_a_pasted_address_reads_like_the_callback_it_was_meant_for() -> None:
    pasted = "  http://127.0.0.1:8080/x/callback?state=ab_c-1&code=Zm9v%3D%3D  \n"
    assert oauth_flow.check_callback(CallbackQuery.from_pasted_address(pasted)) == ("Zm9v==", "ab_c-1")
    refused = CallbackQuery.from_pasted_address("https://bot.example/x/callback?error=access_denied&state=x")
    assert refused.error == "access_denied"
    assert CallbackQuery.from_pasted_address("not an address at all") == CallbackQuery()


# --- against the stand-in for X ---------------------------------------------------------------


async def _authorized(fake: FakeXOAuth, config: OAuthClientConfig) -> tuple[str, str]:
    request = oauth_flow.authorization_request(config, CONNECT_SCOPES)
    return fake.issue_code(oauth_flow.code_challenge(request.code_verifier)), request.code_verifier


async def test_a_public_client_exchanges_its_code_and_reads_who_approved(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    config = _config(fake_x)
    code, verifier = await _authorized(fake_x, config)
    grant = await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)
    assert grant.refresh_token is not None and grant.expires_in == 7200
    assert grant.scopes == CONNECT_SCOPES
    form, authorization = fake_x.token_requests[-1]
    assert authorization is None and form["client_id"] == fake_x.client_id
    assert form["redirect_uri"] == REDIRECT and form["grant_type"] == "authorization_code"

    account = await oauth_flow.read_me(session, config, grant.access_token)
    assert (account.id, account.username, account.name) == (
        "1500000000000000001", "likelens_community", "LikeLens <Community>")


async def test_a_confidential_client_authenticates_with_basic_and_not_in_the_body(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    fake_x.client_secret = "client-s3cret"
    config = _config(fake_x, secret="client-s3cret")
    code, verifier = await _authorized(fake_x, config)
    await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)
    form, authorization = fake_x.token_requests[-1]
    assert "client_id" not in form
    assert authorization is not None
    assert base64.b64decode(authorization.removeprefix("Basic ")).decode() == "likelens-client:client-s3cret"


async def test_a_used_code_an_expired_code_and_a_wrong_verifier_are_refused_without_echoing_them(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = _config(fake_x)
    code, verifier = await _authorized(fake_x, config)
    await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)
    attempts = [(code, verifier)]  # replayed
    expired, expired_verifier = await _authorized(fake_x, config)
    fake_x.expire_code(expired)
    attempts.append((expired, expired_verifier))
    other, _ = await _authorized(fake_x, config)
    attempts.append((other, oauth_flow.new_code_verifier()))  # not the verifier of its challenge
    for bad_code, bad_verifier in attempts:
        with pytest.raises(CodeRejected, match="expired") as caught:
            await oauth_flow.exchange_code(session, config, code=bad_code, code_verifier=bad_verifier)
        for secret in (bad_code, bad_verifier):
            assert secret not in str(caught.value) and secret not in caplog.text
        assert caught.value.__cause__ is None


async def test_a_wrong_client_is_the_operators_to_fix(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    config = OAuthClientConfig("someone-else", REDIRECT, api_base_url=fake_x.base_url)
    code, verifier = await _authorized(fake_x, config)
    with pytest.raises(ClientRejected, match="X_CLIENT_ID"):
        await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_x_failing_asks_to_try_again(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession, status: int,
) -> None:
    fake_x.token_status_fault = status
    fake_x.token_body_fault = "<html>upstream error</html>"
    with pytest.raises(XUnavailable, match="try again") as caught:
        await oauth_flow.exchange_code(session, _config(fake_x), code="c", code_verifier="v" * 43)
    assert caught.value.status == status


async def test_an_unreadable_answer_is_said_plainly(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    fake_x.token_body_fault = "<html>not json</html>"
    with pytest.raises(UnexpectedAnswer, match="could not be read"):
        await oauth_flow.exchange_code(session, _config(fake_x), code="c", code_verifier="v" * 43)


async def test_x_out_of_reach_is_said_without_the_request(session: aiohttp.ClientSession) -> None:
    config = OAuthClientConfig("c", REDIRECT, api_base_url="http://127.0.0.1:9")
    with pytest.raises(XUnavailable, match="could not be reached") as caught:
        await oauth_flow.exchange_code(session, config, code="secret-code", code_verifier="secret-verifier")
    assert "secret" not in str(caught.value) and caught.value.__cause__ is None


async def test_a_suspended_account_cannot_be_connected(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    config = _config(fake_x)
    code, verifier = await _authorized(fake_x, config)
    grant = await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)
    fake_x.suspended = True
    with pytest.raises(AccountSuspended, match="suspended") as caught:
        await oauth_flow.read_me(session, config, grant.access_token)
    assert grant.access_token not in str(caught.value)


async def test_revoke_sends_the_token_with_its_hint_and_x_forgets_it(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    config = _config(fake_x)
    code, verifier = await _authorized(fake_x, config)
    grant = await oauth_flow.exchange_code(session, config, code=code, code_verifier=verifier)
    assert grant.refresh_token is not None
    await oauth_flow.revoke(session, config, grant.refresh_token)
    await oauth_flow.revoke(session, config, grant.access_token, "access_token")
    assert fake_x.revoked == [(grant.refresh_token, "refresh_token"), (grant.access_token, "access_token")]
    with pytest.raises(UnexpectedAnswer, match="HTTP 401"):
        await oauth_flow.read_me(session, config, grant.access_token)


async def test_revoke_with_the_wrong_client_is_the_operators_to_fix(
    fake_x: FakeXOAuth, session: aiohttp.ClientSession,
) -> None:
    with pytest.raises(ClientRejected):
        config = OAuthClientConfig("nobody", REDIRECT, api_base_url=fake_x.base_url)
        await oauth_flow.revoke(session, config, "t")


def test_every_flow_error_is_one_family() -> None:
    for cls in (ConsentDenied, AuthorizationFailed, CodeRejected, ClientRejected, AccountSuspended,
                XUnavailable, UnexpectedAnswer):
        assert issubclass(cls, OAuthFlowError)
