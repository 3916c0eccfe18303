"""The bodies the X sandbox answers with: RFC 7807 problems, partial errors and X's HTML error page.

Shaped as X's OpenAPI spec documents them, with the api.x.com problem type URIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xapi.sandbox.data import JsonObject
from xapi.sandbox.params import QueryError

PROBLEMS = "https://api.x.com/2/problems/"
HTML_ERROR = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}"
    "</h1></center>\r\n<hr><center>envoy</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass(slots=True)
class Answer:
    """A status, a JSON body and its content type."""

    status: int
    body: JsonObject
    content_type: str = "application/json"


class Refused(Exception):
    """Raised inside a handler to answer at once with `answer`."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


def problem(slug: str, title: str, detail: str, status: int, **extra: Any) -> Answer:
    """An RFC 7807 problem answer; `slug` is the last segment of the type URI or about:blank."""
    type_uri = "about:blank" if slug == "about:blank" else PROBLEMS + slug
    body: JsonObject = {"title": title, "detail": detail, "type": type_uri, "status": status, **extra}
    return Answer(status, body, "application/problem+json")


def invalid_request(error: QueryError) -> Answer:
    """X's 400 invalid-request problem naming the parameter at fault."""
    return problem(
        "invalid-request", "Invalid Request", "One or more parameters to your request was invalid.", 400,
        errors=[{"parameters": {error.parameter: [error.value]}, "message": error.message}],
    )


def partial(
    slug: str, title: str, detail: str, *, resource_type: str, resource_id: str, parameter: str,
) -> JsonObject:
    """One entry of a 200 answer's `errors` (a resource X could not return)."""
    # Both specs' shapes at once: v2.166 wants value/parameter/section, v2.167 wants resource_type.
    error: JsonObject = {
        "value": resource_id, "detail": detail, "title": title, "resource_type": resource_type,
        "parameter": parameter, "resource_id": resource_id, "type": PROBLEMS + slug,
    }
    if slug == "not-authorized-for-resource":
        error["section"] = "data"
    return error


def not_found(resource_type: str, resource_id: str, parameter: str, what: str) -> Answer:
    """X's 200 answer with only a resource-not-found error."""
    return Answer(200, {"errors": [partial(
        "resource-not-found", "Not Found Error", f"Could not find {what} with {parameter}: [{resource_id}].",
        resource_type=resource_type, resource_id=resource_id, parameter=parameter,
    )]})


def forbidden(resource_type: str, resource_id: str, detail: str) -> Answer:
    """X's 403 not-authorized-for-resource problem."""
    body = partial("not-authorized-for-resource", "Authorization Error", detail,
                    resource_type=resource_type, resource_id=resource_id, parameter="id")
    return Answer(403, {**body, "status": 403}, "application/problem+json")
