"""Browser fixtures: a live skillcert server with the demo data and Debian's chromium.

Playwright's own browser download does not work on these machines; the tests drive
/usr/bin/chromium (``apt-get install chromium``; ``.ci/run`` installs it when missing).
Without chromium the tests skip on a laptop and fail under CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.e2e.liveserver import REPO_ROOT, LiveServer

CHROMIUM = Path(os.environ.get("SKILLCERT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Playwright's default is 30 s; a local server answers in milliseconds, so a stuck wait
# should fail fast and name the element it waited for.
TIMEOUT_MS = 10_000


def _browser_missing(why: str) -> None:
    if IN_CI:
        pytest.fail(f"{why} (CI=true requires the browser test to run)", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def chromium_browser():
    """Module-scoped: Playwright's sync API keeps an asyncio loop running in this thread
    while it is open, which would break later tests that call asyncio.run()."""
    if not CHROMIUM.exists():
        _browser_missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _browser_missing(f"the playwright package is missing ({exc}): pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A migrated and seeded SQLite server on a free port, torn down after the module."""
    server = LiveServer(tmp_path_factory.mktemp("live-server"))
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def new_page(chromium_browser, live_server):
    """Pages in fresh browser contexts (own cookies), closed after the test."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []

    def make(locale: str = "zh-CN"):
        context = chromium_browser.new_context(base_url=live_server.url, locale=locale,
                                               viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
