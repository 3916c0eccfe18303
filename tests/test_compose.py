"""docker-compose.yml (Docker cannot run here, so its file is read): one PostgreSQL and one bot
process per shard, each with a volume and a health check; the bots' SHARD_IDS cover every shard
once, all on the PostgreSQL service, with one LIKELENS_SECRET_KEY from .env.

PyYAML is not among the dependencies: `read_yaml` reads the block subset compose files use
(mappings, `- item` lists, JSON-style flow lists, quoted or plain scalars, comments).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def _scalar(text: str) -> Any:
    if text.startswith("["):
        return json.loads(text)
    if text[:1] in "\"'" and text[-1:] == text[:1]:
        return text[1:-1]
    return text


def _strip_comment(line: str) -> str:
    # A comment starts at a '#' at the line's start or after a space, outside quotes.
    quote = None
    for index, char in enumerate(line):
        if char in "\"'" and quote in (None, char):
            quote = None if quote else char
        elif char == "#" and quote is None and (index == 0 or line[index - 1] == " "):
            return line[:index].rstrip()
    return line.rstrip()


def read_yaml(text: str) -> Any:
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip())
             for raw in (_strip_comment(line) for line in text.splitlines()) if raw.strip()]
    value, end = _block(lines, 0, lines[0][0])
    assert end == len(lines), f"unread line: {lines[end][1]!r}"
    return value


def _block(lines: list[tuple[int, str]], start: int, indent: int) -> tuple[Any, int]:
    if lines[start][1].startswith("- "):
        items: list[Any] = []
        index = start
        while index < len(lines) and lines[index][0] == indent and lines[index][1].startswith("- "):
            items.append(_scalar(lines[index][1][2:].strip()))
            index += 1
        return items, index
    mapping: dict[str, Any] = {}
    index = start
    while index < len(lines) and lines[index][0] == indent:
        found = re.fullmatch(r"([^:\s][^:]*):(?:\s+(.*))?", lines[index][1])
        assert found is not None, f"not a mapping entry: {lines[index][1]!r}"
        key, rest = found.group(1).strip("\"'"), found.group(2)
        index += 1
        if rest is not None:
            mapping[key] = _scalar(rest)
        elif index < len(lines) and lines[index][0] > indent:
            mapping[key], index = _block(lines, index, lines[index][0])
        else:
            mapping[key] = None
    return mapping, index


def compose() -> dict[str, Any]:
    found = read_yaml(COMPOSE.read_text())
    assert isinstance(found, dict)
    return found


def bot_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in config["services"].items() if "build" in service}


def test_the_reader_reads_the_subset_it_claims() -> None:
    text = 'a:\n  b: "x # y"  # note\n  c:\n    - 1\n    - two\n  d: ["CMD", "z"]\n# end\ne: plain\n'
    assert read_yaml(text) == {"a": {"b": "x # y", "c": ["1", "two"], "d": ["CMD", "z"]}, "e": "plain"}


def test_a_postgresql_service_with_a_volume_and_a_pg_isready_health_check() -> None:
    config = compose()
    postgres = config["services"]["postgres"]
    assert postgres["image"] == "postgres:15"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    named = {volume.split(":")[0] for volume in postgres["volumes"]}
    assert named <= set(config["volumes"])


def test_one_bot_per_shard_on_postgresql_each_with_a_volume_and_a_health_check() -> None:
    config = compose()
    bots = bot_services(config)
    assert len(bots) >= 2
    counts = {service["environment"]["SHARD_COUNT"] for service in bots.values()}
    assert len(counts) == 1, f"every bot must run the same SHARD_COUNT, not {counts}"
    count = int(counts.pop())
    shard_ids = [int(part) for service in bots.values()
                 for part in str(service["environment"]["SHARD_IDS"]).split(",")]
    assert sorted(shard_ids) == list(range(count)), "each shard in exactly one bot service"
    volumes: list[str] = []
    for name, service in bots.items():
        environment = service["environment"]
        assert re.fullmatch(r"postgresql://[^@]+@postgres:5432/\w+", environment["DATABASE_URL"]), name
        assert environment["LIKELENS_SECRET_KEY"].startswith("${LIKELENS_SECRET_KEY:?"), name
        assert service["env_file"] == ".env"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["healthcheck"]["test"], name
        own = [volume.split(":")[0] for volume in service["volumes"] if volume.endswith(":/data")]
        assert len(own) == 1 and own[0] in config["volumes"], name
        volumes += own
    assert len(set(volumes)) == len(volumes), "each bot process has a volume of its own"


def test_each_bot_health_check_reads_its_own_shard_set() -> None:
    # `python bot.py --healthcheck` reads the alive file named by the container's SHARD_IDS.
    for name, service in bot_services(compose()).items():
        assert service["healthcheck"]["test"] == ["CMD", "python", "bot.py", "--healthcheck"], name
