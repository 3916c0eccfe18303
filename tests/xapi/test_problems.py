"""Error answers of every shape map to one `xapi.errors` class, with no raw body quoted."""

from __future__ import annotations

import pytest

from xapi import errors
from xapi.problems import error_from_response

PROBLEM = (
    '{{"type": "https://api.{host}/2/problems/{kind}", "title": "T", "detail": "D", "status": {status}}}'
)


@pytest.mark.parametrize(("kind", "status", "cls"), [
    ("unsupported-authentication", 403, errors.UnsupportedAuthentication),
    ("not-authorized-for-resource", 403, errors.NotAuthorizedForResource),
    ("resource-not-found", 404, errors.NotFound),
    ("client-forbidden", 403, errors.ClientForbidden),
    ("usage-capped", 429, errors.UsageCapped),
    ("invalid-request", 400, errors.InvalidRequest),
])
@pytest.mark.parametrize("host", ["x.com", "twitter.com"])
def test_problem_type_matched_by_last_segment(
    kind: str, status: int, cls: type[errors.XApiError], host: str,
) -> None:
    body = PROBLEM.format(host=host, kind=kind, status=status)
    err = error_from_response(status, body, {}, endpoint="liking_users", now=0)
    assert type(err) is cls
    assert err.status == status and err.endpoint == "liking_users"


def test_about_blank_429_is_rate_limited_with_reset_from_header() -> None:
    body = '{"type": "about:blank", "title": "Too Many Requests", "status": 429}'
    err = error_from_response(429, body, {"x-rate-limit-reset": "1900000000"}, endpoint="me", now=0)
    assert isinstance(err, errors.RateLimited)
    assert err.reset_at.timestamp() == 1900000000 and err.sent


@pytest.mark.parametrize(("code", "status", "cls"), [
    (88, 429, errors.RateLimited), (32, 401, errors.Unauthorized), (144, 404, errors.NotFound),
    (179, 403, errors.NotAuthorizedForResource), (453, 403, errors.ClientForbidden),
])
def test_legacy_error_codes(code: int, status: int, cls: type[errors.XApiError]) -> None:
    body = f'{{"errors": [{{"code": {code}, "message": "m"}}]}}'
    assert type(error_from_response(status, body, {}, endpoint="post", now=0)) is cls


JUNK_BODIES = [
    "", "<html><body>Bearer sandbox-secret 502</body></html>", "{", "[]", "null",
    '{"errors": "x"}', '{"type": 5}',
]


@pytest.mark.parametrize("body", JUNK_BODIES)
@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.InvalidRequest), (401, errors.Unauthorized), (403, errors.NotAuthorizedForResource),
    (404, errors.NotFound), (429, errors.RateLimited), (500, errors.ServerError), (503, errors.ServerError),
])
def test_non_json_bodies_fall_back_on_status_and_never_quote_the_body(
    body: str, status: int, cls: type[errors.XApiError],
) -> None:
    err = error_from_response(status, body, {}, endpoint="post", now=0)
    assert type(err) is cls
    assert "sandbox-secret" not in str(err) and "<html>" not in str(err)
