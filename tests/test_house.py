"""The house's rules that code review keeps forgetting: the design's arrows, and writes in transactions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The design's "Shape" (the README's layout): which package may not import which (bot and launcher
# import everything).
FORBIDDEN = {
    "xapi": {"discord", "bot", "cogs", "digests", "ui", "store", "accounts", "web"},
    "store": {"discord", "bot", "cogs", "digests", "ui", "web"},
    "ui": {"bot", "cogs", "digests", "store", "accounts", "web"},
    "digests": {"bot", "cogs", "web"},
    "accounts": {"bot", "cogs", "digests", "ui", "web"},
    "web": {"bot", "cogs", "digests", "ui"},
    "cogs": {"bot", "launcher", "web"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _type_checking_only(path: Path) -> set[str]:
    # `if TYPE_CHECKING:` imports name a type, they do not run: `from bot import LikesBot` is allowed there.
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    names.add(inner.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_arrows_point_one_way(package: str) -> None:
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        runtime = _imports(path) - _type_checking_only(path)
        for name in sorted(runtime & FORBIDDEN[package]):
            wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, wrong


def test_every_store_write_commits_through_transaction() -> None:
    # A bare commit on the shared connection would commit another coroutine's half-done transaction.
    allowed = {"transactions.py", "db.py", "engine.py", "postgres.py"}
    bare = [
        f"{path.name}:{number}"
        for path in sorted((ROOT / "store").glob("*.py")) if path.name not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1) if ".commit()" in line
    ]
    assert not bare, f"commits outside store.transactions.transaction(): {bare}"


# "Keep files small enough to read in one sitting (about 300 lines)": past this, the module's
# docstring says why (a phrase such as "over 300 lines: …").
MAX_LINES = 330


def _py_files() -> list[Path]:
    skip = {".venv", "build", "data"}
    return [p for p in sorted(ROOT.rglob("*.py")) if not skip & set(p.relative_to(ROOT).parts)]


def test_long_modules_say_why_in_their_docstring() -> None:
    unexplained = []
    for path in _py_files():
        text = path.read_text()
        if text.count("\n") <= MAX_LINES:
            continue
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if "over 300 lines" not in docstring.replace("\n", " "):
            unexplained.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not unexplained, f"long modules whose docstring does not say why: {unexplained}"
