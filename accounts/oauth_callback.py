"""Finish an OAuth 2.0 authorization from its callback: the steps every flow shares.

check the callback → consume its state (single use) → exchange the code at once → read who
approved. What to do with the result (store the tokens encrypted, link the member, edit the
ephemeral answer) is the caller's. Used by the web server's /x/callback and by the "Paste the
address" modal alike. When anything after the exchange fails, the new tokens are revoked at X, so
a failed authorization leaves nothing behind, here or there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import aiohttp

from accounts import oauth_flow
from accounts.oauth_flow import (
    CallbackQuery,
    OAuthClientConfig,
    OAuthFlowError,
    TokenGrant,
    UnknownState,
    XAccount,
)
from store.oauth_states import OAuthStates, PendingAuthorization

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CompletedAuthorization:
    """A finished authorization: who started it and where, X's tokens, and whose account they are."""

    pending: PendingAuthorization
    grant: TokenGrant
    account: XAccount


async def finish_authorization(
    query: CallbackQuery, *, states: OAuthStates, session: aiohttp.ClientSession, config: OAuthClientConfig,
    now: float,
) -> CompletedAuthorization:
    """The completed authorization, or the OAuthFlowError (a sentence for the page) saying why not."""
    code, state = oauth_flow.check_callback(query)
    pending = await states.consume(state, now=now)
    if pending is None:
        raise UnknownState(
            "This sign-in link has expired or was already used, so nothing was connected; "
            "start again from Discord.", status=400,
        )
    grant = await oauth_flow.exchange_code(session, config, code=code, code_verifier=pending.code_verifier)
    try:
        account = await oauth_flow.read_me(session, config, grant.access_token)
    except OAuthFlowError:
        await revoke_quietly(session, config, grant)
        raise
    return CompletedAuthorization(pending, grant, account)


async def revoke_quietly(
    session: aiohttp.ClientSession, config: OAuthClientConfig, grant: TokenGrant,
) -> None:
    """Revoke a grant that will not be kept; a failure is logged (without the token) and swallowed."""
    if grant.refresh_token is not None:
        await _revoke_one(session, config, grant.refresh_token, "refresh_token")
    await _revoke_one(session, config, grant.access_token, "access_token")


async def _revoke_one(
    session: aiohttp.ClientSession, config: OAuthClientConfig, token: str,
    hint: Literal["access_token", "refresh_token"],
) -> None:
    try:
        await oauth_flow.revoke(session, config, token, hint)
    except OAuthFlowError as exc:
        log.warning("could not revoke an unused X %s: %s", hint.replace("_", " "), exc.message)
