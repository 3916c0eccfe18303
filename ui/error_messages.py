"""One plain sentence per `xapi.errors` class: what a Discord user reads when X refuses or fails."""

from __future__ import annotations

from xapi import errors
from xapi.refs import UnreadableReference

APOLOGY = "Sorry, something went wrong on LikeLens' side. It has been logged; please try again later."


def _account(handle: str | None) -> str:
    return f"@{handle}" if handle else "the community's connected account"


def message_for(error: Exception, *, handle: str | None = None) -> str:
    """The sentence shown for error; `handle` is the serving X account's username when known.

    An unreadable link or handle is answered with an example on that account (none without it).
    """
    account = _account(handle)
    endpoint = getattr(error, "endpoint", None)
    if isinstance(error, UnreadableReference) and handle:
        return error.sentence(handle)
    if isinstance(error, errors.InvalidReference):
        return error.message
    if isinstance(error, errors.InvalidInput):
        return f"That input was refused: {error.message}"
    if isinstance(error, errors.RateLimited):
        reset = int(error.reset_at.timestamp())
        return f"X's rate limit for this lookup is used up: try again <t:{reset}:R>."
    if isinstance(error, errors.UsageCapped):
        return ("The X app has reached its usage cap: lookups work again when X's usage period resets "
                "(waiting a few minutes does not help).")
    if isinstance(error, errors.NotAuthorizedForResource):
        if endpoint == "liked_posts":
            return f"Likes are private on X: LikeLens can only list the likes of {account}."
        if endpoint == "user_posts":
            return "That account is protected: X shows its posts only to its approved followers."
        return f"Likes are private on X: LikeLens can only list likes on posts of {account}."
    if isinstance(error, errors.NotFound):
        if endpoint in ("user_by_username", "user_posts"):
            return "X has no such account (it may be suspended, deactivated or misspelt)."
        return "X has no such post: it was deleted, or the link or id is wrong."
    if isinstance(error, errors.Unauthorized | errors.UnsupportedAuthentication | errors.MissingUserContext):
        return ("X rejected LikeLens' credentials: the bot's operator must check the X account's keys "
                "or reconnect the account.")
    if isinstance(error, errors.TokenNotSaved):
        return ("LikeLens cannot reach X until it has saved X's new access key (its database is busy): "
                "please try again in a few minutes.")
    if isinstance(error, errors.ClientForbidden):
        return ("X does not let this X app use this endpoint: the bot's operator must check the app's "
                "access level.")
    if isinstance(error, errors.Timeout):
        return "X did not answer in time (it may be slow or down): please try again in a minute."
    if isinstance(error, errors.ServerError):
        return ("X is having trouble (it answered with an error or dropped the connection): "
                "try again in a few minutes.")
    if isinstance(error, errors.UndecodableResponse):
        return "X answered with something LikeLens could not read: try again in a few minutes."
    if isinstance(error, errors.InvalidRequest):
        return "X refused LikeLens' request as malformed. It has been logged; please try again later."
    return APOLOGY


def protected_account(handle: str) -> str:
    """The sentence for a protected account whose likes were asked for."""
    who = f"@{handle}" if handle else "That account"
    return f"{who} is a protected account: X does not show what it likes."
