"""The HTML of the sandbox's consent page and its error page: plain forms, no script, all text escaped."""

from __future__ import annotations

from html import escape

from xapi.sandbox.authorize import AuthorizeRequest
from xapi.sandbox.data import SeedUser

AUTHORIZE_PATH = "/i/oauth2/authorize"
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "fieldset{margin:1rem 0}label{margin-left:.4rem}button{font-size:1rem;padding:.5rem 1.2rem;"
    "margin-right:.6rem}"
)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n"
        f"</body>\n</html>\n"
    )


def consent_page(request: AuthorizeRequest, params: dict[str, str], accounts: list[SeedUser]) -> str:
    """The page asking which account to sign in as and whether to let the app in."""
    app = escape(request.client.name)
    scopes = escape(", ".join(request.scopes))
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(params.get(name, ""))}">\n'
        for name in ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                     "code_challenge_method")
    )
    choices = "".join(
        f'<div><input type="radio" id="account-{a.id}" name="account" value="{a.id}"'
        f'{" checked" if index == 0 else ""}>'
        f'<label for="account-{a.id}">@{escape(a.username)} ({escape(a.name)})</label></div>\n'
        for index, a in enumerate(accounts)
    )
    body = (
        f"<h1>Authorize {app} to access your X account?</h1>\n"
        f"<p>{app} asks for these permissions on the account you sign in as: {scopes}.</p>\n"
        f'<form method="post" action="{AUTHORIZE_PATH}">\n{hidden}'
        f"<fieldset>\n<legend>Sign in as</legend>\n{choices}</fieldset>\n"
        f'<button type="submit" name="decision" value="approve">Approve</button>\n'
        f'<button type="submit" name="decision" value="cancel">Cancel</button>\n</form>\n'
        f"<p><small>This is the LikeLens X sandbox: no real X account is involved.</small></p>\n"
    )
    return _page(f"Authorize {request.client.name} · X sandbox", body)


def error_page(sentence: str) -> str:
    """The page X shows instead of redirecting a request it refuses."""
    body = (f"<h1>This authorization request cannot be completed</h1>\n<p>{escape(sentence)}</p>\n"
            f"<p><small>This is the LikeLens X sandbox.</small></p>\n")
    return _page("Authorization request refused · X sandbox", body)
