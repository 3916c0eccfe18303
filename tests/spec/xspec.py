"""Check X API requests and responses against X's own OpenAPI spec (the vendored subsets).

`check_request` and `check_response` return a list of problems (empty: it conforms). The spec is
OpenAPI 3.0: it is translated to JSON Schema 2020-12 (`nullable` becomes a `null` type) and its
`#/components/...` references resolve through a `referencing` registry holding the whole document.

Two deliberate additions to plain schema validation, so the checks can fail where it matters:
- Data objects (users, posts, includes, metrics, meta, the response root) refuse properties the
  spec does not declare: an answer in the wrong naming (`includes.tweets` under v2.167) fails.
- Problems are also checked against the schema their `type` maps to by the spec's discriminator
  (matched by the type's last segment, since the host moved from api.twitter.com to api.x.com).
Known gaps: X's spec declares `pagination_token` on `GET /2/activity/subscriptions` but no `meta`
in its answer; the `meta` every paginated v2 answer carries (`result_count`, `next_token`) is
declared here. v2.167's `Problem` union omits the types X still sends for auth, caps and rate limits
(`about:blank`, unsupported-authentication, usage-capped, client-forbidden); those are checked
against the RFC 7807 base shape that v2.166 declares (`type` and `title` required).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

Naming = Literal["tweet", "post"]
AuthKind = Literal["oauth1", "oauth2_user", "bearer", "none", "invalid"]

HERE = Path(__file__).resolve().parent
SUBSETS: dict[Naming, str] = {"post": "x-api-v2.167-subset.json", "tweet": "x-api-v2.166-subset.json"}
AUTH_SCHEMES: dict[str, str] = {
    "oauth1": "UserToken", "oauth2_user": "OAuth2UserToken", "bearer": "BearerToken",
}
# Data objects that must not carry undeclared properties.
STRICT_SCHEMAS = frozenset({
    "User", "Post", "Tweet", "Expansions", "UserPublicMetrics", "PostPublicMetrics", "TweetPublicMetrics",
})
# v2.167 problem types missing from its Problem union (see the module docstring).
GAP_PROBLEM_SLUGS = frozenset({
    "about:blank", "unsupported-authentication", "usage-capped", "client-forbidden",
})
BASE_PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"},
                   "status": {"type": "integer"}},
}
SUBSCRIPTIONS_META: dict[str, Any] = {
    "type": "object", "properties": {"result_count": {"type": "integer"}, "next_token": {"type": "string"}},
}
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _to_2020(node: Any, base: str) -> Any:
    """OpenAPI 3.0 schema keywords translated to JSON Schema 2020-12, with absolute `$ref`s."""
    if isinstance(node, list):
        return [_to_2020(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _to_2020(value, base) for key, value in node.items()
              if key not in ("example", "discriminator")}
    if isinstance(result.get("$ref"), str) and result["$ref"].startswith("#"):
        result["$ref"] = base + result["$ref"]
    if "discriminator" in node:
        result["x-discriminator"] = node["discriminator"]
    if result.pop("nullable", False) is True and "type" in result:
        result["type"] = [result["type"], "null"]
    return result


def _strict(schema: dict[str, Any]) -> None:
    if "properties" in schema and "additionalProperties" not in schema:
        schema["unevaluatedProperties"] = False


@cache
def load_spec(naming: Naming) -> dict[str, Any]:
    """The vendored spec subset for `naming`, translated to JSON Schema 2020-12."""
    raw = json.loads((HERE / SUBSETS[naming]).read_text(encoding="utf-8"))
    spec: dict[str, Any] = _to_2020(copy.deepcopy(raw), _uri(naming))
    schemas = spec["components"]["schemas"]
    listed = schemas.get("GetActivitySubscriptionsResponse")
    if listed is not None:
        listed["properties"].setdefault("meta", SUBSCRIPTIONS_META)
    for name, schema in schemas.items():
        if name in STRICT_SCHEMAS:
            _strict(schema)
        if name.startswith("Get") and name.endswith("Response"):
            _strict(schema)
            meta = schema.get("properties", {}).get("meta")
            if isinstance(meta, dict):
                _strict(meta)
    return spec


@cache
def _registry(naming: Naming) -> Registry[Any]:
    resource: Resource[Any] = DRAFT202012.create_resource(load_spec(naming))
    registry: Registry[Any] = Registry().with_resource(_uri(naming), resource)
    return registry


def _uri(naming: Naming) -> str:
    return f"urn:likelens:x-spec:{naming}"


def _validate(naming: Naming, schema: Mapping[str, Any], instance: Any, where: str) -> list[str]:
    validator = Draft202012Validator(dict(schema), registry=_registry(naming), format_checker=_FORMATS)
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        location = "/".join(str(part) for part in error.absolute_path) or "(root)"
        problems.append(f"{where} {location}: {error.message[:300]}")
    return problems


def _ref(naming: Naming, pointer: str) -> dict[str, Any]:
    return {"$ref": f"{_uri(naming)}{pointer}"}


def _resolve(naming: Naming, node: Mapping[str, Any]) -> dict[str, Any]:
    """Follow one `$ref` inside the spec (parameters and schemas)."""
    target: Any = node
    while isinstance(target, Mapping) and "$ref" in target:
        pointer = str(target["$ref"]).split("#/", 1)[1]
        target = load_spec(naming)
        for part in pointer.split("/"):
            target = target[part]
    return dict(target)


def find_operation(
    naming: Naming, method: str, path: str,
) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(template, operation, path parameters) of the spec operation that `path` matches."""
    spec = load_spec(naming)
    candidates = []
    for template, item in spec["paths"].items():
        operation = item.get(method.lower())
        if operation is None:
            continue
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        match = re.match(pattern, path)
        if match:
            literal_length = len(re.sub(r"\{\w+\}", "", template))
            candidates.append((literal_length, template, operation, match.groupdict()))
    if not candidates:
        return None
    _, template, operation, params = max(candidates, key=lambda c: c[0])
    return template, operation, params


def _coerce(schema: Mapping[str, Any], raw: str) -> Any:
    """A query/path string as the value its schema describes (form style, explode=false)."""
    kind = schema.get("type")
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else raw
    if kind == "array":
        return raw.split(",")
    return raw


def check_request(
    naming: Naming, method: str, path: str, query: Mapping[str, str], auth_kind: AuthKind,
) -> list[str]:
    """Problems of one request against the spec: unknown or invalid parameters, disallowed auth."""
    found = find_operation(naming, method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the v{_version(naming)} spec"]
    template, operation, path_params = found
    problems: list[str] = []
    declared = {}
    for parameter in operation.get("parameters", []):
        resolved = _resolve(naming, parameter)
        declared[(resolved["in"], resolved["name"])] = resolved
    for name, value in path_params.items():
        problems += _check_param(naming, declared[("path", name)], value, f"{template} path {name}")
    for name, value in query.items():
        parameter = declared.get(("query", name))
        if parameter is None:
            known = sorted(n for (where, n) in declared if where == "query")
            problems.append(f"{template}: unknown query parameter {name!r} (spec knows {', '.join(known)})")
            continue
        problems += _check_param(naming, parameter, value, f"{template} query {name}")
    for (where, name), parameter in declared.items():
        if where == "query" and parameter.get("required") and name not in query:
            problems.append(f"{template}: required query parameter {name!r} missing")
    allowed = {scheme for requirement in operation.get("security", []) for scheme in requirement}
    scheme = AUTH_SCHEMES.get(auth_kind)
    if auth_kind == "invalid":
        pass  # refused credentials (a bad signature, a revoked token): the server's business, not the spec's
    elif scheme is None and allowed:
        problems.append(f"{template}: sent without authentication; the spec requires {sorted(allowed)}")
    elif scheme is not None and scheme not in allowed:
        problems.append(f"{template}: {scheme} is not allowed; the spec allows {sorted(allowed)}")
    return problems


def check_request_body(naming: Naming, method: str, path: str, body: Any) -> list[str]:
    """Problems of one JSON request body against the operation's `requestBody` schema."""
    found = find_operation(naming, method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the v{_version(naming)} spec"]
    template, operation, _ = found
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return [f"{method} {template}: the spec documents no JSON request body"] if body is not None else []
    return _validate(naming, schema, body, f"{method} {template} request body")


def _check_param(naming: Naming, parameter: Mapping[str, Any], raw: str, where: str) -> list[str]:
    schema = _resolve(naming, parameter["schema"])
    return _validate(naming, schema, _coerce(schema, raw), where)


def _slug(problem_type: str) -> str:
    return problem_type if problem_type == "about:blank" else problem_type.rstrip("/").rsplit("/", 1)[-1]


def _check_problem(naming: Naming, body: Any, where: str) -> list[str]:
    """A problem object against `Problem`, then against the schema its type maps to."""
    schemas = load_spec(naming)["components"]["schemas"]
    slug = _slug(str(body.get("type", ""))) if isinstance(body, dict) else ""
    if naming == "post" and slug in GAP_PROBLEM_SLUGS:
        return _validate(naming, BASE_PROBLEM, body, where)
    problems = _validate(naming, _ref(naming, "#/components/schemas/Problem"), body, where)
    mapping = schemas["Problem"].get("x-discriminator", {}).get("mapping", {})
    by_slug = {_slug(key): "#" + target.split("#", 1)[1] for key, target in mapping.items()}
    if slug not in by_slug:
        problems.append(f"{where}: problem type {body.get('type')!r} is not one the spec maps")
    elif not problems:
        problems += _validate(naming, _ref(naming, by_slug[slug]), body, where)
    return problems


def check_response(naming: Naming, method: str, path: str, status: int, body: Any) -> list[str]:
    """Problems of one JSON response body against the operation's response schema for `status`."""
    # Tests fetch the same pages again and again: check each distinct answer once.
    return list(_check_response_text(naming, method, path, status, json.dumps(body, sort_keys=True)))


@lru_cache(maxsize=4096)
def _check_response_text(naming: Naming, method: str, path: str, status: int, text: str) -> tuple[str, ...]:
    return tuple(_check_response(naming, method, path, status, json.loads(text)))


def _check_response(naming: Naming, method: str, path: str, status: int, body: Any) -> list[str]:
    found = find_operation(naming, method, path)
    if found is None:
        return [f"{method} {path}: no such operation in the v{_version(naming)} spec"]
    template, operation, _ = found
    where = f"{template} {status}"
    responses = operation["responses"]
    if str(status) in responses:
        content = responses[str(status)].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            return [f"{where}: the spec documents no JSON body"]
        problems = _validate(naming, schema, body, where)
        for index, error in enumerate(body.get("errors", []) if isinstance(body, dict) else []):
            problems += _check_problem(naming, error, f"{where} errors/{index}")
        return problems
    if "default" not in responses or status < 400:
        return [f"{where}: status {status} is not documented"]
    if isinstance(body, dict) and "type" in body and "title" in body:
        return _check_problem(naming, body, where)
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        # X's legacy error shape wraps the spec's `Error` objects in `errors`.
        error_schema = _ref(naming, "#/components/schemas/Error")
        return [problem for index, error in enumerate(body["errors"])
                for problem in _validate(naming, error_schema, error, f"{where} errors/{index}")]
    return [f"{where}: error body is neither an RFC 7807 problem nor a legacy error list"]


def _version(naming: Naming) -> str:
    return "2.167" if naming == "post" else "2.166"


def exchange_problems(exchanges: Iterable[Any], *, requests: bool = False) -> list[str]:
    """Spec problems of a sandbox's recorded exchanges (`XSandbox.exchanges`).

    Every JSON answer to one of the vendored operations (and every object sent on a stream) is
    checked; with `requests=True` the requests (and their JSON bodies)
    are checked too. Answers that are not JSON on purpose (fault switches) are skipped.
    """
    problems: list[str] = []
    for exchange in exchanges:
        request = exchange.request
        if find_operation(exchange.naming, request.method, request.path) is None:
            continue
        if requests:
            problems += check_request(exchange.naming, request.method, request.path, request.query,
                                      request.auth_kind)
            if getattr(request, "body", None) is not None:
                problems += check_request_body(exchange.naming, request.method, request.path, request.body)
        if exchange.body is not None and request.status:
            problems += check_response(exchange.naming, request.method, request.path, request.status,
                                       exchange.body)
    return problems
