"""web.pages: the page for each way an authorization fails."""

from __future__ import annotations

import pytest

from accounts import oauth_flow
from web import page_for_flow_error


@pytest.mark.parametrize(("error", "title", "status"), [
    (oauth_flow.ConsentDenied("You cancelled on X, so nothing was connected."), "Nothing connected", 200),
    (oauth_flow.UnknownState("This sign-in link has expired."), "Link expired", 400),
    (oauth_flow.CodeRejected("X refused the sign-in code."), "Sign-in expired", 400),
    (oauth_flow.AuthorizationFailed("X did not authorize LikeLens."), "Nothing connected", 400),
    (oauth_flow.AccountSuspended("X says this account is suspended."), "Account suspended", 403),
    (oauth_flow.ClientRejected("X refused LikeLens' app credentials."), "LikeLens is not set up for X", 502),
    (oauth_flow.XUnavailable("X could not be reached."), "X is unavailable", 502),
    (oauth_flow.UnexpectedAnswer("X's answer could not be read."), "Unexpected answer from X", 502),
    (oauth_flow.OAuthFlowError("Something else."), "Nothing connected", 400),
])
def test_each_failure_has_its_title_status_and_the_errors_sentence(
    error: oauth_flow.OAuthFlowError, title: str, status: int,
) -> None:
    page = page_for_flow_error(error)
    assert (page.title, page.sentence, page.status) == (title, error.message, status)

