"""Real Chromium, driven by Playwright, against pytest-django's live server.

Playwright's sync API runs an event loop in this thread, which makes Django refuse
synchronous database calls from the test body ("async unsafe"); the test body is plain
synchronous code, so that guard is switched off here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.axe import axe_violations, describe
from tests.browser.chromium import chromium_path

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Screenshots are for people to look at, not assertions: the browser run in .ci/run writes them
# (SCREENSHOTS=1), a plain `make test` only where a test is about them (a third of a second each).
WRITE_SCREENSHOTS = os.environ.get("SCREENSHOTS") == "1"
CHROMIUM = chromium_path()
# Run as root, without network: no sandbox, no GPU, nothing that phones home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM:
        pytest.skip("needs Chromium: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
        pytest.skip("needs Playwright for Python: pip install playwright")
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(autouse=True)
def _live_database(transactional_db: None) -> None:
    # The live server runs in another thread: the test's rows must be committed for it to see
    # them. (A flushed database has lost the role groups; the ``staff`` fixture restores them.)
    return None


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A browser page on the live server. Every page it loads is checked with axe-core (default
    rules): the test fails on any critical or serious violation.

    axe runs when a page has loaded. A page the test leaves before axe is done (a click that
    navigates straight on) is visited again, with a GET, when the test ends, and checked then:
    so every URL the test saw is checked, without slowing the test's own steps."""
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    found: list[str] = []
    checked: set[str] = set()
    missed: list[str] = []

    def record(url: str, violations: list[dict[str, Any]]) -> None:
        checked.add(url.split("#")[0])
        if violations:
            found.append(describe(url, violations))

    def check(loaded: Any) -> None:
        url = loaded.url
        try:
            record(url, axe_violations(loaded))
        except Exception as exc:
            message = str(exc).lower()
            # Left before axe finished, or a second load while axe still ran: checked at the end.
            if any(w in message for w in ("context was destroyed", "navigation", "closed", "already running")):
                missed.append(url)
                return
            raise

    page.on("load", check)
    page.axe_checked = checked  # for tests that wait for a page's check (tests.browser.axe.checked)
    yield page
    page.remove_listener("load", check)
    for url in dict.fromkeys(missed):
        if url.split("#")[0] not in checked and url.startswith(live_server.url):
            page.goto(url)
            record(url, axe_violations(page))
    context.close()
    assert checked, "axe-core checked no page"
    assert not found, "axe-core found critical or serious violations:\n" + "\n".join(found)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
