"""Extract from X's OpenAPI specs only the operations LikeLens uses, with everything they reference.

Run: python tests/spec/extract_x_spec.py [SHARED_X_API_DIR]
Writes tests/spec/x-api-v2.167-subset.json and tests/spec/x-api-v2.166-subset.json, so the suite
checks requests and responses against X's own spec even where ../shared is absent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "x-api"
# (source file, vendored subset) per field naming.
SPECS = {
    "post": ("openapi.json", "x-api-v2.167-subset.json"),
    "tweet": ("openapi-v2.166-tweet-naming.json", "x-api-v2.166-subset.json"),
}
# Path -> the methods LikeLens calls there.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "/2/tweets/{id}/liking_users": ("get",),
    "/2/users/{id}/liked_tweets": ("get",),
    "/2/users/{id}/tweets": ("get",),
    "/2/users/by/username/{username}": ("get",),
    "/2/tweets/{id}": ("get",),
    "/2/tweets": ("get",),
    "/2/users/me": ("get",),
    # Live likes (X Activity API): the stream, and creating, listing and deleting subscriptions.
    "/2/activity/stream": ("get",),
    "/2/activity/subscriptions": ("get", "post"),
    "/2/activity/subscriptions/{subscription_id}": ("delete",),
}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        # A discriminator's mapping names schemas too: the checker follows it.
        discriminator = node.get("discriminator")
        mapping = discriminator.get("mapping", {}) if isinstance(discriminator, dict) else {}
        found += [target for target in mapping.values() if isinstance(target, str)]
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def subset(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec reduced to the operations of OPERATIONS and the components they reach."""
    paths = {path: {method: spec["paths"][path][method] for method in methods}
             for path, methods in OPERATIONS.items()}
    components: dict[str, dict[str, Any]] = {
        "securitySchemes": spec["components"]["securitySchemes"],
    }
    pending = _refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        if not ref.startswith("#/components/"):
            raise ValueError(f"unexpected reference {ref}")
        _, _, kind, name = ref.split("/", 3)
        target = _resolve(spec, ref)
        components.setdefault(kind, {})[name] = target
        pending += _refs(target)
    for kind, items in components.items():
        components[kind] = dict(sorted(items.items()))
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"],
                 "x-extracted-by": "tests/spec/extract_x_spec.py"},
        "servers": spec.get("servers", []),
        "paths": paths,
        "components": dict(sorted(components.items())),
    }


def render(source_dir: Path, naming: str) -> str:
    """The vendored subset's exact text for one naming."""
    source, _ = SPECS[naming]
    spec = json.loads((source_dir / source).read_text(encoding="utf-8"))
    return json.dumps(subset(spec), indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    source_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    for naming, (_, target) in SPECS.items():
        text = render(source_dir, naming)
        (HERE / target).write_text(text, encoding="utf-8")
        print(f"wrote {target} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
