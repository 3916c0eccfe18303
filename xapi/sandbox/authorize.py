"""Checks of an authorization request (`/i/oauth2/authorize`) as X makes them.

Anything wrong is said on an error page and never redirected: a redirect_uri not registered
exactly is not a place to send the browser, and the rest is the app's bug, not the user's choice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from xapi.sandbox.oauth2_clients import SandboxClient

# X's OAuth 2.0 scopes (docs.x.com, authentication/oauth-2-0/authorization-code).
KNOWN_SCOPES = frozenset({
    "tweet.read", "tweet.write", "tweet.moderate.write", "users.email", "users.read", "follows.read",
    "follows.write", "offline.access", "space.read", "mute.read", "mute.write", "like.read", "like.write",
    "list.read", "list.write", "block.read", "block.write", "bookmark.read", "bookmark.write",
    "media.write", "dm.read", "dm.write",
})
STATE_MAX = 500
# RFC 7636: a challenge is 43-128 unreserved characters (S256: 43).
_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}", re.ASCII)


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A valid authorization request."""

    client: SandboxClient
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str


class AuthorizeError(Exception):
    """An authorization request X would refuse; the message is the error page's sentence."""


def checked_request(clients: Mapping[str, SandboxClient], params: Mapping[str, str]) -> AuthorizeRequest:
    """The request in `params` (query or form), or AuthorizeError saying what is wrong."""
    client = clients.get(params.get("client_id", ""))
    if client is None:
        raise AuthorizeError("No app is registered with this client_id.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizeError("The redirect_uri is not one of the callback URLs registered for this app.")
    if params.get("response_type") != "code":
        raise AuthorizeError("The response_type must be code.")
    if params.get("code_challenge_method") != "S256":
        raise AuthorizeError("The code_challenge_method must be S256.")
    challenge = params.get("code_challenge", "")
    if not _CHALLENGE.fullmatch(challenge):
        raise AuthorizeError("The code_challenge is missing or is not a PKCE challenge.")
    scopes = tuple(dict.fromkeys(params.get("scope", "").split()))
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if not scopes or unknown:
        raise AuthorizeError("The scope is missing or names a scope X does not have.")
    state = params.get("state", "")
    if not state or len(state) > STATE_MAX:
        raise AuthorizeError(f"The state is missing or longer than {STATE_MAX} characters.")
    return AuthorizeRequest(client, redirect_uri, scopes, state, challenge)
