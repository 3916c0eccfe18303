"""The X apps (OAuth 2.0 clients) the sandbox knows, and how a client proves who it is.

A public client names itself with `client_id` in the form body; a confidential one (it has a
secret) sends HTTP Basic with its id and secret, as X asks. The long-standing sandbox client
(SANDBOX_CLIENT_ID) is confidential but also accepts the public style, as it always did.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xapi.sandbox.oauth2_tokens import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


@dataclass(frozen=True, slots=True)
class SandboxClient:
    """One registered X app: its id, its exact callback URLs and, if confidential, its secret."""

    client_id: str
    redirect_uris: frozenset[str] = frozenset()
    secret: str | None = None
    also_public: bool = False
    # The app's name on the consent page.
    name: str = "LikeLens"

    @property
    def confidential(self) -> bool:
        return self.secret is not None


def default_client(redirect_uris: Iterable[str] = ()) -> SandboxClient:
    """The sandbox's own app, with the callback URLs given."""
    return SandboxClient(SANDBOX_CLIENT_ID, frozenset(redirect_uris), SANDBOX_CLIENT_SECRET, also_public=True)


def authenticated_client(
    clients: Mapping[str, SandboxClient], form: Mapping[str, str], basic: tuple[str, str] | None,
) -> SandboxClient | None:
    """The client a token or revoke request authenticates as, or None (X answers 401)."""
    if basic is not None:
        client = clients.get(basic[0])
        if client is None or client.secret is None:
            return None
        return client if hmac.compare_digest(basic[1].encode(), client.secret.encode()) else None
    client = clients.get(form.get("client_id", ""))
    if client is None or (client.confidential and not client.also_public):
        return None
    return client
