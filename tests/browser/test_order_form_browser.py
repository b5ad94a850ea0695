"""The order-form workflow in real Chromium: the commercial owner sends v2 to the buyer, the
buyer reviews what changed and approves, the commercial owner records the signature from the
order form's page, and the launch room shows what changed since the buyer signed. axe-core
checks every page on the way (tests/browser/conftest.py), the admin included."""

from __future__ import annotations

import re

import pytest

from launchroom.models import OrderForm
from launchroom.orderforms.services import order_form_revise
from tests.browser.axe import checked
from tests.browser.conftest import WRITE_SCREENSHOTS
from tests.browser.test_launch_room_browser import log_in, shoot
from tests.launch_helpers import build

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def log_out(page):
    page.get_by_role("button", name=re.compile("^Log out")).click()


def test_send_approve_sign_and_the_diff_in_the_room(page, staff, artifacts):
    tenant = build("globex", staff)  # signed accepted against v1
    v1 = OrderForm.objects.get(tenant=tenant)
    v2 = order_form_revise(
        order_form=v1,
        by=staff["commercial"],
        compliance_modules=v1.compliance_modules + "\nDriving licence checks",
        cohort_size=240,
    )

    # The commercial owner sends v2 from its admin page.
    log_in(page, "commercial")
    page.goto(f"/admin/launchroom/orderform/{v2.pk}/change/")
    assert "what changed since the version before" in page.content().lower()
    shoot(page, artifacts, "admin-order-form-draft")
    page.get_by_role("button", name="Send to buyer").click()
    page.wait_for_load_state()
    assert "Sent v2 of the Globex Corporation order form to the buyer" in page.content()
    assert page.evaluate("document.activeElement.getAttribute('role')") == "status"
    log_out(page)

    # The buyer reviews what changed and approves.
    log_in(page, "buyer-globex")
    page.wait_for_url("**/launch-room/globex/")
    page.get_by_test_id("order-form-link").click()
    page.wait_for_url("**/launch-room/globex/order-form/")
    assert page.get_by_test_id("order-form-status").inner_text() == "Sent to buyer"
    assert "Driving licence checks" in page.locator("#diff").inner_text()
    shoot(page, artifacts, "launch-room-order-form-review")
    page.get_by_label("Your role").fill("Chief people officer")
    page.get_by_role("button", name="Approve the order form").click()
    page.wait_for_url("**/launch-room/globex/order-form/")
    assert "You approved order form version 2" in page.content()
    assert page.get_by_test_id("order-form-status").inner_text() == "Approved by buyer"
    log_out(page)

    # The commercial owner records the signature from the order form's page, pre-filled.
    log_in(page, "commercial")
    page.goto(f"/admin/launchroom/orderform/{v2.pk}/change/")
    page.get_by_role("link", name="Record the signature…").click()
    reference = page.get_by_label("Approval reference").input_value()
    assert reference.startswith("Approved in the launch room by Grace Gallagher, Chief people officer")
    assert page.get_by_label("Signed by (customer)").input_value() == "Grace Gallagher"
    shoot(page, artifacts, "admin-order-form-record-signature")
    page.get_by_role("button", name="Record the signature").click()
    page.wait_for_load_state()
    # A newer signed version leaves the buyer's acceptance stale: confirmed first, in words.
    assert "Recording this signature will move Globex Corporation from Go to Hold" in page.content()
    shoot(page, artifacts, "admin-order-form-signature-impact")
    page.get_by_role("button", name="Record the signature anyway").click()
    page.wait_for_load_state()
    assert "Recorded the signature of v2" in page.content()
    v2.refresh_from_db()
    assert v2.is_signed and v2.approval_reference == reference
    log_out(page)

    # The admin pages the walkthrough found wanting, each as the role that works there, checked
    # by axe: the tenant page's inline inputs, the incident page, the evidence date-time input.
    for username, urls in (
        ("operator", [f"/admin/launchroom/tenant/{tenant.pk}/change/", "/admin/evidence/evidenceattachment/add/"]),
        ("support", ["/admin/launchroom/incident/add/"]),
        ("operator", ["/launch-room/"]),
    ):
        log_in(page, username)
        page.wait_for_url("**/launch-room/")
        for url in urls:
            page.goto(url)
            assert page.locator("h1").count() >= 1
            assert "403" not in page.title()
            checked(page)
        # (a plain screenshot: the incident page's width at 1280 px is another change's to fix)
        if WRITE_SCREENSHOTS:
            page.screenshot(
                path=str(artifacts / f"walk-{username}-{urls[-1].strip('/').replace('/', '-')}.jpg"),
                type="jpeg",
                quality=85,
            )
        log_out(page)

    # The launch room says what changed since the buyer signed.
    log_in(page, "buyer-globex")
    page.wait_for_url("**/launch-room/globex/")
    since = page.locator("#changes-since-signed")
    assert "What changed since you signed" in since.inner_text()
    assert "Driving licence checks" in since.inner_text()
    assert "240" in since.inner_text()
    since.scroll_into_view_if_needed()
    shoot(page, artifacts, "launch-room-globex-changed-since-signed")
