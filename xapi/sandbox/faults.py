"""The fault switches of the X sandbox and the answers they turn a request into.

Tests flip `XSandbox.faults` at run time; the switches apply to the GET endpoints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from xapi.sandbox.problems import HTML_ERROR, Answer, partial, problem

# The expanded post the `partial_errors` fault says X could not return.
MISSING_POST_ID = "1869999999999999999"


@dataclass(slots=True)
class SandboxFaults:
    """Switches tests flip at run time to make the sandbox misbehave like X sometimes does."""

    latency_seconds: float = 0.0
    # Share of requests answered 503, deterministic: every round(1/ratio)-th request.
    server_error_ratio: float = 0.0
    malformed_json: bool = False
    html_errors: bool = False
    reset_connections: bool = False
    usage_capped: bool = False
    # 200 answers with a list of data also carry one partial error (an expanded post X could not return).
    partial_errors: bool = False
    # 400 problems whose `detail` quotes the request's Authorization header (a careless proxy or gateway).
    echo_authorization: bool = False


def echoed_authorization(faults: SandboxFaults, headers: Mapping[str, str]) -> Answer | None:
    """The careless proxy's 400 that quotes the Authorization header, when that fault is on."""
    if not faults.echo_authorization:
        return None
    presented = headers.get("Authorization", "")
    return problem("invalid-request", "Invalid Request",
                   f"The Authorization header [{presented}] is not valid for this request.", 400)


def capped_or_failing(faults: SandboxFaults, request_number: int) -> Answer | None:
    """The usage-cap 429 or the every-n-th 503, once a request has passed auth and its budget."""
    if faults.usage_capped:
        return problem("usage-capped", "Usage cap exceeded", "Usage cap exceeded: Monthly product cap",
                       429, period="Monthly", scope="Product")
    if faults.server_error_ratio > 0:
        every = max(1, round(1 / faults.server_error_ratio))
        if request_number % every == 0:
            return problem("about:blank", "Service Unavailable", "Service Unavailable", 503)
    return None


def with_partial_error(faults: SandboxFaults, answer: Answer) -> Answer:
    """A 200 list answer with one more partial error, when that fault is on."""
    if faults.partial_errors and answer.status == 200 and isinstance(answer.body.get("data"), list):
        answer.body["errors"] = [*answer.body.get("errors", []), partial(
            "resource-not-found", "Not Found Error",
            f"Could not find tweet with id: [{MISSING_POST_ID}].",
            resource_type="tweet", resource_id=MISSING_POST_ID, parameter="pinned_tweet_id",
        )]
    return answer


def html_error(faults: SandboxFaults, answer: Answer, headers: dict[str, str]) -> web.Response | None:
    """X's envoy HTML page instead of a JSON error, when that fault is on."""
    if answer.status < 400 or not faults.html_errors:
        return None
    reason = web.Response(status=answer.status).reason
    text = HTML_ERROR.format(status=answer.status, reason=reason)
    return web.Response(status=answer.status, text=text, content_type="text/html", headers=headers)


def rendered_body(faults: SandboxFaults, answer: Answer) -> tuple[str, bool]:
    """The JSON text sent for `answer` and whether the malformed-JSON fault cut it short."""
    body = json.dumps(answer.body, ensure_ascii=False, separators=(",", ":"))
    if answer.status == 200 and faults.malformed_json:
        return body[: max(1, len(body) // 2)], True
    return body, False
