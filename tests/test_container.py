"""The container image ships every module the bot imports (the Dockerfile copies them by name)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _copied_paths() -> set[str]:
    copied: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if match := re.match(r"COPY\s+(?!--)(.+)\s+\S+$", line.strip()):
            copied.update(match.group(1).split())
    return copied


def test_the_image_copies_every_package_and_module_of_the_house() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {f"{name}.py" for name in config["py-modules"]}
    patterns = config["packages"]["find"]["include"]
    packages = {
        path.name for path in ROOT.iterdir()
        if (path / "__init__.py").exists()
        and any(re.fullmatch(pattern.replace("*", ".*"), path.name) for pattern in patterns)
    }
    missing = {*modules, *packages} - {p.rstrip("/") for p in _copied_paths()}
    assert not missing, f"the Dockerfile does not copy {sorted(missing)}: the image would fail to import them"
