"""tests.browser: without Chromium the browser tests skip with one line, or fail when CI requires them.

Runs a small pytest session in a subprocess whose conftest hides Chromium from the harness.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_ARGS, find_chromium

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = """
import tests.browser

tests.browser.find_chromium = lambda: None
pytest_plugins = ["tests.browser"]
"""

TESTS = """
async def test_one(browser_page) -> None:
    await browser_page.goto("about:blank")


async def test_two(browser_page) -> None:
    await browser_page.goto("about:blank")


def test_without_browser() -> None:
    pass
"""


def _run_without_chromium(tmp_path: Path, *, require: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_needs_browser.py").write_text(TESTS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LIKELENS_REQUIRE_BROWSER", None)
    if require:
        env["LIKELENS_REQUIRE_BROWSER"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rsE", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
         "-o", "asyncio_default_fixture_loop_scope=function",
         "-W", "ignore::pytest.PytestAssertRewriteWarning",
         "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_without_chromium_the_browser_tests_skip_with_one_line(tmp_path: Path) -> None:
    result = _run_without_chromium(tmp_path, require=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 2 skipped" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1, skipped
    assert "browser tests need Chromium: apt-get install -y --no-install-recommends chromium" in skipped[0]


def test_without_chromium_ci_fails_them(tmp_path: Path) -> None:
    result = _run_without_chromium(tmp_path, require=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 2 errors" in result.stdout
    assert "LIKELENS_REQUIRE_BROWSER=1 requires the browser tests" in result.stdout


def test_the_system_chromium_is_found_here_or_the_reason_is_known() -> None:
    found = find_chromium()
    if found is None:
        if os.environ.get("LIKELENS_REQUIRE_BROWSER") == "1":
            pytest.fail("LIKELENS_REQUIRE_BROWSER=1 but no Chromium is installed")
        pytest.skip("browser tests need Chromium: apt-get install -y --no-install-recommends chromium")
    assert Path(found).name == "chromium"
    assert "--no-sandbox" in CHROMIUM_ARGS and "--disable-background-networking" in CHROMIUM_ARGS
