"""One exception class per thing a caller of the X client must treat differently.

Messages are plain sentences safe to show a user: they never contain a token or a secret.
"""

from __future__ import annotations

from datetime import datetime


class XApiError(Exception):
    """Base class of every error the `xapi` package raises."""

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.status = status


class InvalidInput(XApiError, ValueError):
    """The caller's input was refused locally; nothing was sent to X."""


class InvalidReference(InvalidInput):
    """A pasted post or user reference could not be parsed (see `xapi.refs`)."""


class MissingUserContext(XApiError):
    """The endpoint needs a user-context token and none is configured; nothing was sent."""


class RateLimited(XApiError):
    """The endpoint's rate budget for this token is spent until `reset_at`."""

    def __init__(
        self, message: str, *, endpoint: str | None = None, status: int | None = 429,
        reset_at: datetime, sent: bool = True,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.reset_at = reset_at
        # False when the client refused locally because its remembered budget was spent.
        self.sent = sent


class UsageCapped(XApiError):
    """The app's daily/monthly usage cap is reached: waiting for the rate window does not help."""


class UnsupportedAuthentication(XApiError):
    """X refused the kind of token (e.g. an app-only bearer on a likes endpoint)."""


class NotAuthorizedForResource(XApiError):
    """Private likes, a protected account, or a post that is not the connected account's."""


class NotFound(XApiError):
    """Deleted post or unknown user."""


class ClientForbidden(XApiError):
    """The X app is not enrolled for this endpoint (wrong project or access level)."""


class InvalidRequest(XApiError):
    """X answered 400: the request was malformed in a way local validation did not catch."""


class Unauthorized(XApiError):
    """X answered 401: the token is bad, expired beyond refresh, or revoked."""


class TokenNotSaved(XApiError):
    """The OAuth 2.0 access token expired while X's newest refresh token is not saved yet: refreshing
    would spend it, so X is not called until the save succeeds."""


class ServerError(XApiError):
    """X answered 5xx (after the client's retries) or the connection failed."""


class Timeout(XApiError):
    """The caller's deadline passed before X answered."""


class UndecodableResponse(XApiError):
    """X answered with a body that is not the JSON it documents."""


class AccountRefusal(XApiError):
    """Refused locally for the server's account (none, one X no longer accepts, a spent daily cap):
    nothing was sent, and `message` is the one sentence the server's members read."""


class NoServingAccount(AccountRefusal):
    """No X account serves the server (any more): the sentence names `/x connect`."""


class AccountNeedsReconnect(AccountRefusal):
    """X refused the server's connected account's refresh token: nothing is sent until a server
    manager connects again. `message` is the sentence the server's members read."""


class DailyCapReached(AccountRefusal):
    """The server read its X_DAILY_ITEMS_PER_SERVER items today; refused locally, nothing was sent.
    `message` is the sentence (with the reset time) the server's members read."""
