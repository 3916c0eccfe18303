"""Write tests/spec/discord-api-subset.json: the request schemas of the Discord routes LikeLens calls.

Run from the repository root: `python tests/spec/extract_discord_spec.py [path/to/openapi.json]`.
The subset keeps Discord's own schemas verbatim (with every component they reference), so the
emulator validates the bot's payloads against Discord's limits without ../shared at test time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# ../shared beside the repository, as on the developers' machines and in CI.
SOURCE = Path(__file__).resolve().parents[3] / "shared" / "discord-api" / "openapi.json"
TARGET = Path(__file__).with_name("discord-api-subset.json")

# (path template, method) of every route whose JSON request body the emulator validates.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/applications/{application_id}/commands", "put"),
    ("/applications/{application_id}/guilds/{guild_id}/commands", "put"),
    ("/interactions/{interaction_id}/{interaction_token}/callback", "post"),
    ("/webhooks/{webhook_id}/{webhook_token}", "post"),
    ("/webhooks/{webhook_id}/{webhook_token}/messages/@original", "patch"),
    ("/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", "patch"),
    ("/channels/{channel_id}/messages", "post"),
    ("/channels/{channel_id}/messages/{message_id}", "patch"),
    ("/users/@me/channels", "post"),
)


def _refs(node: Any) -> set[str]:
    """Every `#/components/schemas/<name>` referenced anywhere inside node."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document restricted to ROUTES' request bodies and the schemas they reach."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method in ROUTES:
        body = spec["paths"][path][method]["requestBody"]
        paths.setdefault(path, {})[method] = {"requestBody": body}
    all_schemas: dict[str, Any] = spec["components"]["schemas"]
    wanted: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending |= _refs(all_schemas[name]) - wanted
    return {
        "openapi": spec["openapi"],
        "info": {**spec["info"], "x-likelens-note": "subset written by tests/spec/extract_discord_spec.py"},
        "paths": paths,
        "components": {"schemas": {name: all_schemas[name] for name in sorted(wanted)}},
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    subset = extract(json.loads(source.read_text(encoding="utf-8")))
    TARGET.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(subset['paths'])} paths, {len(subset['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
