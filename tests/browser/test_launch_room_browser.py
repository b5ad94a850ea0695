"""The buyer's launch room in real Chromium: hold, signing, certificate, invitation, keyboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail

from launchroom.models import AcceptanceRecord
from launchroom.tenants.accounts import invite_buyer
from tests.browser.conftest import PHONE, WRITE_SCREENSHOTS
from tests.launch_helpers import build

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "correct-horse-battery-staple-42"


def log_in(page: Any, username: str, password: str = "demo") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def decision_word(page: Any) -> str:
    return page.get_by_test_id("decision").inner_text().strip()


def fill_signature(page: Any, decision: str) -> None:
    page.get_by_label(decision, exact=False).first.check()
    page.get_by_label("Your full name").fill("Carlos Conti")
    page.get_by_label("Your role").fill("Head of compliance operations")
    page.get_by_label(re.compile("I am authorised to sign")).check()


def shoot(page: Any, artifacts: Path, name: str, *, phone: bool = False, keep: bool = False) -> Path:
    """Check that nothing is wider than the window; write the screenshot with SCREENSHOTS=1
    (or ``keep``)."""
    if phone:
        page.set_viewport_size(PHONE)
    # JPEG: a whole page encodes in half the time PNG takes, and reads as well for a person.
    path = artifacts / f"{name}.jpg"
    if keep or WRITE_SCREENSHOTS:
        page.screenshot(path=str(path), full_page=True, type="jpeg", quality=85)
    # Nothing is wider than the window: no sideways scrolling, at desktop or phone width.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than the window"
    return path


def test_the_northwind_buyer_sees_hold_and_accepting_is_refused(page, staff, artifacts):
    build("northwind", staff)
    log_in(page, "buyer-northwind")
    page.wait_for_url("**/launch-room/northwind/")
    assert decision_word(page) == "Hold"
    reasons = page.locator(".hold-reasons")
    assert "Customer order-form scope" in reasons.inner_text()
    assert "no signed order form" in reasons.inner_text()
    shoot(page, artifacts, "launch-room-northwind-hold")

    fill_signature(page, "Accepted")
    page.get_by_role("button", name="Sign the acceptance record").click()
    alert = page.locator(".refusal[role=alert]")
    alert.wait_for()
    # The answer opens on the form, with the refusal in view.
    assert page.url.endswith("#sign-form")
    assert alert.is_visible()
    assert page.evaluate("document.querySelector('.refusal').getBoundingClientRect().top") < 900
    assert "This decision cannot be recorded" in alert.inner_text()
    assert "There is no signed order form" in alert.inner_text()
    # What the buyer typed is still there.
    assert page.get_by_label("Your full name").input_value() == "Carlos Conti"
    assert not AcceptanceRecord.objects.exists()
    page.locator("#acceptance").scroll_into_view_if_needed()
    shoot(page, artifacts, "launch-room-northwind-refused")


def test_the_contoso_buyer_signs_sees_the_certificate_and_the_room_awaits_the_countersignature(page, staff, artifacts):
    tenant = build("contoso", staff)
    log_in(page, "buyer-contoso")
    page.wait_for_url("**/launch-room/contoso/")
    assert decision_word(page) == "Hold"
    assert "Customer acceptance record" in page.locator(".hold-reasons").inner_text()
    shoot(page, artifacts, "launch-room-contoso-before-signing")

    fill_signature(page, "Accepted")
    page.get_by_role("button", name="Sign the acceptance record").click()
    page.wait_for_url(re.compile(r"/launch-room/contoso/acceptance/\d+/#certificate$"))
    assert page.get_by_test_id("certificate-decision").inner_text().strip() == "Accepted"
    assert "Still matches" in page.get_by_test_id("snapshot-check").inner_text()
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert record.snapshot_sha256 in page.content()
    assert "Chrome" in record.user_agent
    shoot(page, artifacts, "certificate-contoso")
    page.emulate_media(media="print")
    shoot(page, artifacts, "certificate-contoso-print")
    page.emulate_media(media="screen")
    shoot(page, artifacts, "certificate-contoso-phone", phone=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Back to the launch room").click()
    page.wait_for_url("**/launch-room/contoso/")
    # docs/RULES.md 5.9: go once an operator countersigns (tests/browser/test_countersign_browser.py).
    assert decision_word(page) == "Hold"
    assert "Awaiting countersignature" in page.get_by_test_id("countersign-status").inner_text()
    shoot(page, artifacts, "launch-room-contoso-signed")
    shoot(page, artifacts, "launch-room-contoso-signed-phone", phone=True)


def test_an_invited_buyer_sets_a_password_from_the_emailed_link_and_logs_in(page, staff, artifacts):
    tenant = build("northwind", staff)
    mail.outbox.clear()
    invite_buyer(tenant=tenant, email="dana.doe@northwind.example", role="buyer_sponsor", by=staff["commercial"])
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    page.goto(urlsplit(link).path)
    assert page.get_by_role("heading", name="Welcome to your launch room").is_visible()
    page.get_by_label(re.compile(r"^New password \(")).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"^New password confirmation")).fill(NEW_PASSWORD)
    shoot(page, artifacts, "invite-set-password")
    page.get_by_role("button", name="Set my password").click()
    page.wait_for_url("**/accounts/login/")
    assert "Your password is set" in page.content()

    log_in(page, "dana.doe@northwind.example", NEW_PASSWORD)
    page.wait_for_url("**/launch-room/northwind/")
    assert page.get_by_role("heading", name="Northwind Traders").is_visible()

    # The link worked once.
    page.goto(urlsplit(link).path)
    assert "expired or has already been used" in page.content()


def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_signing_works_with_the_keyboard_alone(page, staff, artifacts):
    tenant = build("contoso", staff)
    page.goto("/accounts/login/")
    tab_to(page, "input[name=username]")
    page.keyboard.type("buyer-contoso")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    page.wait_for_url("**/launch-room/contoso/")

    tab_to(page, "input[name=decision][value=accepted]")
    page.keyboard.press("Space")
    tab_to(page, "input[name=signer_name]")
    page.keyboard.type("Carlos Conti")
    page.keyboard.press("Tab")
    page.keyboard.type("Head of compliance operations")
    tab_to(page, "input[name=affirmation]")
    page.keyboard.press("Space")
    shoot(page, artifacts, "launch-room-contoso-keyboard-focus")
    tab_to(page, "button[type=submit].button--sign")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/launch-room/contoso/acceptance/\d+/#certificate$"))
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert record.decision == "accepted"
    assert record.signer_name == "Carlos Conti"


def test_the_screenshots_are_written(staff, page, artifacts):
    build("globex", staff)
    log_in(page, "buyer-globex")
    page.wait_for_url("**/launch-room/globex/")
    room = shoot(page, artifacts, "launch-room-globex", keep=True)
    page.get_by_role("link", name="View the certificate").click()
    certificate = shoot(page, artifacts, "certificate-globex", keep=True)
    phone = shoot(page, artifacts, "certificate-globex-phone", phone=True, keep=True)
    for path in (room, certificate, phone):
        assert path.exists()
        assert path.stat().st_size > 10_000
