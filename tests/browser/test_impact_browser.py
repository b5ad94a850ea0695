"""Impact before saving and deciding with the evidence in view, in real Chromium: the finance
owner changes a billing term the buyer accepted and is told first what it does; the buyer
sees which term changed; the operator decides a gate with its evidence on the page. axe-core
checks every page on the way (tests/browser/conftest.py)."""

from __future__ import annotations

import re

import pytest

from billing.models import BillingProfile
from evidence.services import evidence_attach
from launchroom.models import GateDecision
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from tests.browser.test_launch_room_browser import log_in, shoot
from tests.launch_helpers import build

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def log_out(page):
    page.get_by_role("button", name=re.compile("^Log out")).click()


def test_the_billing_change_is_confirmed_with_its_impact_then_shown_to_the_buyer(page, staff, artifacts):
    globex = build("globex", staff)
    profile = BillingProfile.objects.get(tenant=globex)
    cap = profile.seat_cap

    log_in(page, "finance")
    page.wait_for_url("**/launch-room/")
    page.goto(f"/admin/billing/billingprofile/{profile.pk}/change/")
    page.get_by_label("Seat cap").fill(str(cap + 100))
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    sentence = page.locator(".impact__sentence").inner_text()
    assert sentence.startswith("Saving will move Globex Corporation from Go to Hold for paid beta: gate 4")
    assert "will need the buyer to accept the manual billing fallback" in sentence
    shoot(page, artifacts, "admin-billing-impact-confirmation")
    profile.refresh_from_db()
    assert profile.seat_cap == cap  # nothing saved yet

    # Cancel returns unchanged; saving again and confirming saves.
    page.get_by_role("link", name="Cancel: change nothing").click()
    page.wait_for_url(f"**/admin/billing/billingprofile/{profile.pk}/change/")
    assert page.get_by_label("Seat cap").input_value() == str(cap)
    page.get_by_label("Seat cap").fill(str(cap + 100))
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Save anyway").click()
    page.wait_for_load_state()
    profile.refresh_from_db()
    assert profile.seat_cap == cap + 100
    assert evaluate(load(globex, with_output=False)).decision == "hold"
    log_out(page)

    log_in(page, "buyer-globex")
    page.wait_for_url("**/launch-room/globex/")
    changed = page.get_by_test_id("billing-terms-changed").inner_text()
    assert f"Seat cap: {cap} when accepted, {cap + 100} now" in changed
    page.locator("#billing").scroll_into_view_if_needed()
    shoot(page, artifacts, "launch-room-billing-terms-changed")


def test_the_operator_decides_with_the_evidence_in_view(page, staff, artifacts):
    globex = build("globex", staff)
    for key in ("production-proof-json", "production-proof-smoke"):
        evidence_attach(
            tenant=globex, gate_key="strict-proof-plan", requirement_key=key, by=staff["security"], output="same"
        )
    log_in(page, "operator")
    page.wait_for_url("**/launch-room/")
    page.goto(f"/admin/launchroom/tenant/{globex.pk}/change/")
    page.locator('a[href$="decide/?gate=strict-proof-plan"]').click()
    page.wait_for_url("**/decide/?gate=strict-proof-plan")
    evidence = page.locator(".decide-evidence").inner_text()
    assert "Same SHA-256 also attached to" in evidence
    assert page.get_by_role("link", name=re.compile("^Download evidence #")).count() == 2
    shoot(page, artifacts, "admin-decide-with-evidence")
    page.get_by_label("Rejected").check()
    page.get_by_label("Note").fill("One file attached twice: attach the real smoke output.")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()
    assert "Saving will move Globex Corporation from Go to Hold for paid beta: gate 2" in page.content()
    shoot(page, artifacts, "admin-decide-impact-confirmation")
    page.get_by_role("button", name="Save anyway").click()
    page.wait_for_load_state()
    assert GateDecision.objects.filter(tenant=globex, gate_key="strict-proof-plan").latest("decided_at").decision == (
        "rejected"
    )


def test_the_incident_page_fits_a_1280_pixel_screen(page, staff, artifacts):
    build("initech", staff)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, "support")
    page.wait_for_url("**/launch-room/")
    page.goto("/admin/launchroom/incident/add/")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot(page, artifacts, "admin-incident-add-1280")
