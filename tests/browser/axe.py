"""axe-core in the browser tests: every page a test loads is checked under axe's default rules.

The page's Content-Security-Policy allows scripts from 'self' only, so a ``<script>`` tag that
Playwright adds (``add_script_tag``) would be blocked. Instead axe's source is evaluated through
the DevTools protocol (``page.evaluate``), which runs in the page's main world but is not subject
to the page's CSP: the portal is tested with its real policy, and nothing about it is relaxed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

AXE_PATH = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")


def axe_source() -> str:
    if not AXE_PATH.exists():
        raise AssertionError("axe-core is not installed: run `make node_modules/.installed` (npm ci)")
    return AXE_PATH.read_text(encoding="utf-8")


# The same document at the same size gives the same answer: a page shown again unchanged (the
# login page, a page reloaded after a refused POST) is not checked twice in one session. The key
# is the document's HTML, without the CSRF token that differs on every response.
_CHECKED: dict[str, list[dict[str, Any]]] = {}
_DOCUMENT_KEY = """() => {
  const html = document.documentElement.outerHTML
    .replace(/name="csrfmiddlewaretoken" value="[^"]*"/g, 'name="csrfmiddlewaretoken"');
  return window.innerWidth + 'x' + window.innerHeight + '\\n' + html;
}"""


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The critical and serious violations on the page as it is now, under axe's default rules."""
    key = hashlib.sha256(page.evaluate(_DOCUMENT_KEY).encode()).hexdigest()
    if key not in _CHECKED:
        _CHECKED[key] = _run_axe(page)
    return _CHECKED[key]


# axe's whole result is some 60 KB of JSON for a page; only what a failure message needs of the
# critical and serious violations comes back over the DevTools protocol.
_RUN = """async (blocking) => {
  const result = await window.axe.run(document, {resultTypes: ['violations']});
  return result.violations
    .filter((v) => blocking.includes(v.impact))
    .map((v) => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 5).map((n) => n.target)}));
}"""


def _run_axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source() + "\n;undefined")
    return list(page.evaluate(_RUN, list(BLOCKING)))


def describe(url: str, violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{url}: {v['impact']} {v['id']} ({v['help']}): {v['targets']}" for v in violations)


def checked(page: Any, timeout_ms: int = 10_000) -> None:
    """Wait until axe has checked the page now shown (the fixture checks it on load), so a test
    that moves straight on has the check done as that user, on that page."""
    url = page.url.split("#")[0]
    waited = 0
    while url not in page.axe_checked:
        if waited >= timeout_ms:
            raise AssertionError(f"axe-core did not check {url}")
        page.wait_for_timeout(50)
        waited += 50
