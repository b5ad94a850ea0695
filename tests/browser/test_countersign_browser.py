"""The two-party go/no-go in real Chromium (docs/RULES.md 5.9): the buyer signs in the launch
room, an operator countersigns in the admin, and the room reads go."""

from __future__ import annotations

import re
from typing import Any

import pytest

from launchroom.models import AcceptanceCountersignature, AcceptanceRecord
from tests.browser.test_launch_room_browser import decision_word, fill_signature, log_in, shoot
from tests.launch_helpers import build

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def log_out(page: Any) -> None:
    page.context.clear_cookies()


def test_the_buyer_signs_and_the_operator_countersigns_to_go(page, staff, artifacts):
    tenant = build("contoso", staff)

    # Step 1: the buyer sponsor signs; the room holds, awaiting the countersignature.
    log_in(page, "buyer-contoso")
    page.wait_for_url("**/launch-room/contoso/")
    fill_signature(page, "Accepted")
    page.get_by_role("button", name="Sign the acceptance record").click()
    page.wait_for_url(re.compile(r"/launch-room/contoso/acceptance/\d+/#certificate$"))
    assert "Awaiting countersignature" in page.get_by_test_id("countersignature").inner_text()
    page.goto("/launch-room/contoso/")
    assert decision_word(page) == "Hold"
    assert "Your signature is recorded" in page.get_by_test_id("countersign-status").inner_text()
    shoot(page, artifacts, "countersign-room-awaiting")
    record = AcceptanceRecord.objects.get(tenant=tenant)

    # Step 2: an operator countersigns on the tenant's admin page.
    log_out(page)
    log_in(page, "operator")
    page.goto(f"/admin/launchroom/tenant/{tenant.pk}/change/")
    page.get_by_role("link", name="Countersign").click()
    page.wait_for_url(f"**/admin/launchroom/acceptancerecord/{record.pk}/countersign/")
    assert record.snapshot_sha256 in page.content()
    assert "Nothing: the status of every other gate" in page.content()
    shoot(page, artifacts, "countersign-admin")
    page.get_by_label("Note").fill("Checked against the snapshot the buyer signed.")
    page.get_by_role("button", name="Countersign").click()
    page.wait_for_url(f"**/admin/launchroom/tenant/{tenant.pk}/change/")
    assert AcceptanceCountersignature.objects.get(record=record).operator.username == "operator"

    # The buyer's room reads go, with both signatures on record.
    log_out(page)
    log_in(page, "buyer-contoso")
    page.wait_for_url("**/launch-room/contoso/")
    assert decision_word(page) == "Go"
    assert "Countersigned" in page.get_by_test_id("countersign-status").inner_text()
    shoot(page, artifacts, "countersign-room-go")
