"""Validate the JSON bodies the bot sends against Discord's own OpenAPI request schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "spec" / "discord-api-subset.json"
SPEC_URI = "https://discord.invalid/openapi.json"
DIGITS = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}


def _has_string_branch(branches: list[Any]) -> bool:
    return any(isinstance(b, dict) and b.get("type") == "string" for b in branches)


def allow_snowflake_strings(node: Any, *, inside_string_union: bool = False) -> Any:
    """Let big integers (snowflakes, permission bitfields) also be digit strings, and snowflake
    strings also be integers, as Discord does.

    A member of a oneOf/anyOf that already has a string branch is left alone (e.g. `nonce`), or
    a digit string would match two branches of a oneOf.
    """
    if isinstance(node, list):
        return [allow_snowflake_strings(item, inside_string_union=inside_string_union) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("oneOf", "anyOf") and isinstance(value, list):
            out[key] = allow_snowflake_strings(value, inside_string_union=_has_string_branch(value))
        else:
            out[key] = allow_snowflake_strings(value)
    kind = out.get("type")
    is_integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
    if is_integer and out.get("maximum", 0) >= 2**53 and not inside_string_union:
        return {"anyOf": [out, DIGITS]}
    if out.get("format") == "snowflake" and out.get("type") == "string":
        # discord.py sends new attachments' ids as integer indexes; Discord accepts integer snowflakes.
        return {"anyOf": [out, {"type": "integer", "minimum": 0}]}
    return out


@cache
def _registry() -> Registry[Any]:
    spec = allow_snowflake_strings(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    resource: Resource[Any] = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _pointer(route: str, method: str) -> str:
    escaped = route.replace("~", "~0").replace("/", "~1")
    return f"/paths/{escaped}/{method.lower()}/requestBody/content/application~1json/schema"


@cache
def _validators(route: str, method: str) -> tuple[Draft202012Validator, ...]:
    """One validator per branch of the route's request schema (a top-level anyOf is split)."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    operation = spec["paths"].get(route, {}).get(method.lower())
    if operation is None:
        return ()
    pointer = _pointer(route, method)
    root = operation["requestBody"]["content"]["application/json"]["schema"]
    branches = [f"{pointer}/anyOf/{i}" for i in range(len(root["anyOf"]))] if "anyOf" in root else [pointer]
    return tuple(
        Draft202012Validator({"$ref": f"{SPEC_URI}#{branch}"}, registry=_registry()) for branch in branches
    )


def validated_routes() -> set[tuple[str, str]]:
    """(METHOD, route) pairs whose bodies are checked."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return {(method.upper(), route) for route, methods in spec["paths"].items() for method in methods}


def body_errors(route: str, method: str, body: Any) -> list[ValidationError]:
    """Schema violations of body for route (a Discord path template); [] when valid or unchecked."""
    candidates: list[list[ValidationError]] = []
    for validator in _validators(route, method):
        errors = list(validator.iter_errors(body))
        if not errors:
            return []
        candidates.append(errors)
    if not candidates:
        return []
    # The branch meant is the one whose `type` matched (e.g. callback 4/5 vs 6/7), else the closest.
    def distance(errors: list[ValidationError]) -> tuple[bool, int]:
        return (any(list(e.absolute_path) == ["type"] for e in errors), len(errors))

    closest = sorted(candidates, key=distance)[0]
    best = best_match(closest)
    return [best] if best is not None else []


def discord_error_body(errors: list[ValidationError]) -> dict[str, Any]:
    """A 400 body shaped like Discord's 50035 Invalid Form Body (discord.py flattens `errors`)."""
    tree: dict[str, Any] = {}
    for error in errors:
        node = tree
        for part in error.absolute_path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": "SCHEMA_INVALID", "message": error.message[:500]})
    return {"message": "Invalid Form Body", "code": 50035, "errors": tree}


EMBEDS_TOTAL_LIMIT = 6000


def embed_rule_error(body: Any) -> dict[str, Any] | None:
    """Discord's 6000-character cap on a message's embeds (title, description, field names and values,
    footer text, author name, summed over all embeds), which a JSON schema cannot express; None if within."""
    payload = body.get("data", body) if isinstance(body, dict) and "type" in body else body
    embeds = payload.get("embeds") if isinstance(payload, dict) else None
    if not isinstance(embeds, list):
        return None
    total = 0
    for embed in embeds:
        if not isinstance(embed, dict):
            continue
        texts = [embed.get("title"), embed.get("description"), (embed.get("footer") or {}).get("text"),
                 (embed.get("author") or {}).get("name")]
        for field in embed.get("fields") or []:
            if isinstance(field, dict):
                texts += [field.get("name"), field.get("value")]
        total += sum(len(t) for t in texts if isinstance(t, str))
    if (blank := blank_required_text(embeds)) is not None:
        return blank
    if total <= EMBEDS_TOTAL_LIMIT:
        return None
    message = f"Embed size exceeds maximum size of {EMBEDS_TOTAL_LIMIT}"
    where = {"embeds": {"_errors": [{"code": "MAX_EMBED_SIZE_EXCEEDED", "message": message}]}}
    return {"code": 50035, "message": "Invalid Form Body", "errors": where}


def blank_required_text(embeds: list[Any]) -> dict[str, Any] | None:
    """Discord answers "This field is required" for an empty field name or value, footer text or
    author name (the spec only types them as strings); None when every one is filled."""
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            continue
        places: list[tuple[list[str | int], Any]] = []
        if isinstance(embed.get("footer"), dict):
            places.append((["footer", "text"], embed["footer"].get("text")))
        if isinstance(embed.get("author"), dict):
            places.append((["author", "name"], embed["author"].get("name")))
        for number, field in enumerate(embed.get("fields") or []):
            if isinstance(field, dict):
                places += [(["fields", number, "name"], field.get("name")),
                           (["fields", number, "value"], field.get("value"))]
        for path, text in places:
            if isinstance(text, str) and text.strip():
                continue
            node: dict[str, Any] = {}
            tree: dict[str, Any] = {"embeds": {str(index): node}}
            for part in path:
                node = node.setdefault(str(part), {})
            node["_errors"] = [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]
            return {"code": 50035, "message": "Invalid Form Body", "errors": tree}
    return None
