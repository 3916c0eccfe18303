"""What an OAuth 2.0 callback page says (a title, one sentence, a status), decided in accounts/.

The web server (web/pages.py) renders these as HTML; the flows (accounts/, cogs/x.py) decide them.
They live here, not in web/, so the arrows stay cogs → accounts and web → accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts import oauth_flow


@dataclass(frozen=True, slots=True)
class CallbackPage:
    """What a page says: a short title (also its heading), one sentence, and the HTTP status."""

    title: str
    sentence: str
    status: int = 200


# Title and status of the page for each way an authorization fails; the sentence is the error's.
_FLOW_ERROR_PAGES: list[tuple[type[oauth_flow.OAuthFlowError], str, int]] = [
    (oauth_flow.ConsentDenied, "Nothing connected", 200),
    (oauth_flow.UnknownState, "Link expired", 400),
    (oauth_flow.CodeRejected, "Sign-in expired", 400),
    (oauth_flow.AuthorizationFailed, "Nothing connected", 400),
    (oauth_flow.AccountSuspended, "Account suspended", 403),
    (oauth_flow.ClientRejected, "LikeLens is not set up for X", 502),
    (oauth_flow.XUnavailable, "X is unavailable", 502),
    (oauth_flow.UnexpectedAnswer, "Unexpected answer from X", 502),
]


def page_for_flow_error(error: oauth_flow.OAuthFlowError) -> CallbackPage:
    """The page that tells a person why the authorization did not complete."""
    for cls, title, status in _FLOW_ERROR_PAGES:
        if isinstance(error, cls):
            return CallbackPage(title, error.message, status)
    return CallbackPage("Nothing connected", error.message, 400)
