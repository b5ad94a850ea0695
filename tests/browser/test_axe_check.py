"""The accessibility check every browser test relies on (tests/browser/axe.py) finds what it
should: a critical or serious violation comes back named, with where it is; a moderate one does not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.axe import axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAGE = """<!doctype html><html lang="en"><head><title>Check</title></head><body><main>
<h1>Check</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" id="no-alt">
<p style="color:#eee;background:#fff">Faint text</p>
</main>
<p>Outside every landmark (axe's "region" rule: moderate)</p>
</body></html>"""


def test_it_names_critical_and_serious_violations_and_where_they_are(browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(PAGE)
        found = axe_violations(page)
        # The moderate one is there for axe to see: the check leaves it out, axe does not miss it.
        everything = page.evaluate("async () => (await axe.run(document)).violations.map((v) => v.id)")
    finally:
        context.close()
    by_rule = {v["id"]: v for v in found}
    assert by_rule["image-alt"]["impact"] == "critical"
    assert by_rule["image-alt"]["targets"] == [["#no-alt"]]
    assert by_rule["color-contrast"]["impact"] == "serious"
    assert "region" not in by_rule
    assert {v["impact"] for v in found} <= {"critical", "serious"}
    assert "region" in everything
    assert "image-alt" in describe("about:blank", found)
