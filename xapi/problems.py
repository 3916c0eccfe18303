"""Turn an X error answer (problem JSON, legacy errors, HTML or nothing) into an `xapi.errors` class.

Messages are composed here from fixed sentences and X's short problem texts; a raw body is never
quoted, so a proxy page that echoes a header cannot leak it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from xapi import errors

_BY_KIND: dict[str, type[errors.XApiError]] = {
    "unsupported-authentication": errors.UnsupportedAuthentication,
    "not-authorized-for-resource": errors.NotAuthorizedForResource,
    "resource-not-found": errors.NotFound,
    "client-forbidden": errors.ClientForbidden,
    "usage-capped": errors.UsageCapped,
    "invalid-request": errors.InvalidRequest,
    "rate-limit-exceeded": errors.RateLimited,
}

# Codes of the v1.1-style body {"errors": [{"code": 88, "message": "..."}]}.
_BY_LEGACY_CODE: dict[int, type[errors.XApiError]] = {
    32: errors.Unauthorized, 89: errors.Unauthorized, 215: errors.Unauthorized,
    34: errors.NotFound, 50: errors.NotFound, 144: errors.NotFound, 63: errors.NotAuthorizedForResource,
    179: errors.NotAuthorizedForResource, 88: errors.RateLimited, 453: errors.ClientForbidden,
    131: errors.ServerError, 130: errors.ServerError,
}

_DEFAULT_TEXT: dict[type[errors.XApiError], str] = {
    errors.UnsupportedAuthentication: "X refused this kind of token for this endpoint.",
    errors.NotAuthorizedForResource: "X does not let this account see that resource.",
    errors.NotFound: "X could not find that resource (deleted, or never existed).",
    errors.ClientForbidden: "The X app is not enrolled for this endpoint.",
    errors.UsageCapped: "The X app's usage cap is reached; waiting for the rate window will not help.",
    errors.InvalidRequest: "X refused the request as invalid.",
    errors.RateLimited: "The X rate limit for this endpoint is spent.",
    errors.Unauthorized: "X refused the credentials (bad, expired or revoked token).",
    errors.ServerError: "X had a server error.",
}

_MAX_TEXT = 200
# X's rate windows are 15 minutes: the reset to assume when X names none.
_WINDOW_SECONDS = 900


def problem_kind(type_uri: str) -> str:
    """The last segment of a problem `type`, e.g. `resource-not-found`, whatever the host."""
    return type_uri.rstrip("/").rsplit("/", 1)[-1]


def error_class_for(kind: str, status: int | None) -> type[errors.XApiError]:
    """The error class of a problem kind, falling back on the HTTP status."""
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    return _by_status(status)


def _by_status(status: int | None) -> type[errors.XApiError]:
    if status == 401:
        return errors.Unauthorized
    if status == 403:
        return errors.NotAuthorizedForResource
    if status == 404:
        return errors.NotFound
    if status == 429:
        return errors.RateLimited
    if status is not None and status >= 500:
        return errors.ServerError
    return errors.InvalidRequest


def _text(value: object) -> str:
    # Whole, so secrets are redacted before the cut (a token cut in half would escape redaction).
    text = value if isinstance(value, str) else ""
    return " ".join(text.split())


def _keep(text: str) -> str:
    return text


def _parse_body(body: str) -> tuple[type[errors.XApiError] | None, str]:
    """(class named by the body or None, X's text) from a JSON error body; (None, "") otherwise."""
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    type_uri = data.get("type")
    if isinstance(type_uri, str) and type_uri and type_uri != "about:blank":
        cls = _BY_KIND.get(problem_kind(type_uri))
        return cls, _text(data.get("detail")) or _text(data.get("title"))
    legacy = data.get("errors")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        first = legacy[0]
        code = first.get("code")
        cls = _BY_LEGACY_CODE.get(code) if isinstance(code, int) and not isinstance(code, bool) else None
        kind_uri = first.get("type")
        if cls is None and isinstance(kind_uri, str):
            cls = _BY_KIND.get(problem_kind(kind_uri))
        return cls, _text(first.get("message")) or _text(first.get("detail"))
    return None, _text(data.get("detail")) or _text(data.get("title"))


def reset_time(headers: Mapping[str, str]) -> datetime | None:
    """`x-rate-limit-reset` as an aware UTC datetime, or None if absent or malformed."""
    raw = headers.get("x-rate-limit-reset")
    try:
        return datetime.fromtimestamp(int(raw), tz=UTC) if raw is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def make_error(
    cls: type[errors.XApiError], message: str, *, endpoint: str | None = None, status: int | None = None,
    reset_at: datetime | None = None, now: float | None = None,
) -> errors.XApiError:
    """An instance of `cls`, a class picked at run time, given what that class requires.

    Every error whose class comes from X's answer is built here, so a class with a required
    argument (RateLimited's `reset_at`: X's, else one window after `now`) can never be built without it.
    """
    if issubclass(cls, errors.RateLimited):
        if reset_at is None:
            reset_at = datetime.fromtimestamp((time.time() if now is None else now) + _WINDOW_SECONDS, tz=UTC)
        return cls(message, endpoint=endpoint, status=status, reset_at=reset_at, sent=True)
    return cls(message, endpoint=endpoint, status=status)


def error_from_response(
    status: int, body: str, headers: Mapping[str, str], *, endpoint: str, now: float,
    redact: Callable[[str], str] = _keep,
) -> errors.XApiError:
    """The `xapi.errors` instance for a non-2xx answer of `endpoint`.

    X's own text is quoted shortened; `redact` removes the caller's secrets from it before it is cut.
    """
    named, x_text = _parse_body(body)
    x_text = redact(x_text)[:_MAX_TEXT]
    cls = named or _by_status(status)
    message = f"{_DEFAULT_TEXT.get(cls, 'X refused the request.')} (HTTP {status} on {endpoint})"
    if x_text:
        message = f"{message}: {x_text}"
    return make_error(cls, message, endpoint=endpoint, status=status, reset_at=reset_time(headers), now=now)
