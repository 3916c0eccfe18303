"""A real browser for tests: Debian's Chromium, driven by Playwright for Python.

Registered as a pytest plugin by tests/conftest.py. `playwright install` cannot download browsers
here, so it is never called: Chromium is launched by path. Without Chromium (or Playwright) the
browser tests skip with one line naming the reason, unless LIKELENS_REQUIRE_BROWSER=1 (as in CI),
which turns that skip into a failure.

    async def test_page(browser_page: Page) -> None:
        await browser_page.goto(url)
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, NoReturn

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

REQUIRE_BROWSER_VARIABLE = "LIKELENS_REQUIRE_BROWSER"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
# No sandbox (tests run as root in containers); nothing that reaches the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


def find_chromium() -> str | None:
    """The system Chromium's path, or None."""
    found = shutil.which("chromium")
    if found is not None:
        return found
    return DEBIAN_CHROMIUM if os.access(DEBIAN_CHROMIUM, os.X_OK) else None


def browser_required() -> bool:
    """True when a missing browser must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRE_BROWSER_VARIABLE) == "1"


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here (one line), or None when they can."""
    if find_chromium() is None:
        return "browser tests need Chromium: apt-get install -y --no-install-recommends chromium"
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the playwright package: pip install -e '.[dev]'"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the browser tests up front when no browser can run, so the summary folds them into one line."""
    reason = unavailable_reason()
    if reason is None or browser_required():
        return
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=reason))


def _unavailable(reason: str) -> NoReturn:
    if browser_required():
        pytest.fail(f"{reason}, and {REQUIRE_BROWSER_VARIABLE}=1 requires the browser tests", pytrace=False)
    pytest.skip(reason)


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Browser]:
    """A headless Chromium for one test (the system one, by path)."""
    reason, path = unavailable_reason(), find_chromium()
    if reason is not None or path is None:
        _unavailable(reason or "no Chromium")
    from playwright.async_api import async_playwright  # noqa: PLC0415 (optional dev dependency)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest_asyncio.fixture
async def browser_page(chromium: Browser) -> AsyncIterator[Page]:
    """A fresh tab in a fresh browser context (no cookies, no cache from another test)."""
    context = await chromium.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()
