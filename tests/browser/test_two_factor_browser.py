"""Staff two-factor authentication in real Chromium, under the portal's strict CSP: enrol
with the QR code's secret, keep the recovery codes, log in again with one of them, then with
the authenticator's code."""

from __future__ import annotations

import re
import time
from base64 import b32decode
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.browser.test_launch_room_browser import log_in, shoot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.django_db(transaction=True)]


def current_code(secret: str) -> str:
    totp = TOTP(b32decode(secret.replace(" ", "")), step=30, t0=0, digits=6)
    totp.time = time.time()
    return f"{totp.token():06d}"


def device_code(username: str) -> str:
    """The code the user's authenticator shows, from the key their confirmed device stores. The
    next step's: the current one may have been used (to enrol), and a used step is refused;
    the device accepts one step either side of now."""
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    totp.time = time.time() + device.step
    return f"{totp.token():0{device.digits}d}"


def test_staff_enrol_then_log_in_with_a_recovery_code_and_with_an_app_code(
    page: Any, staff: dict[str, Any], settings: Any, artifacts: Path
):
    settings.STAFF_REQUIRE_2FA = True
    blocked: list[str] = []
    page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)

    log_in(page, "operator")
    page.wait_for_url(re.compile(r"/accounts/two-factor/setup/"))
    assert page.get_by_role("heading", name="Set up two-factor authentication").is_visible()
    qr = page.get_by_role("img", name="QR code of your authenticator secret")
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 120, "the QR code is big enough to scan"
    secret = page.get_by_test_id("otp-secret").inner_text()
    shoot(page, artifacts, "two-factor-setup")

    page.get_by_label("One-time code").fill(current_code(secret))
    page.get_by_role("button", name="Confirm and turn on").click()
    page.get_by_role("heading", name="Two-factor authentication is on").wait_for()
    codes = [c.strip() for c in page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()]
    assert len(codes) == 10
    shoot(page, artifacts, "two-factor-recovery-codes")
    page.get_by_role("link", name="I have stored them: continue").click()
    page.wait_for_url("**/launch-room/")
    page.goto("/admin/")
    assert page.get_by_role("heading", name="Launch workbench").is_visible()

    page.get_by_role("button", name=re.compile("Log out")).first.click()
    log_in(page, "operator")
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    assert page.get_by_role("heading", name="Your one-time code").is_visible()
    page.get_by_label("One-time code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    assert "That code is not right" in page.locator(".field--error").inner_text()
    shoot(page, artifacts, "two-factor-verify-refused")
    time.sleep(1.1)  # django-otp makes the device wait after a failure
    page.get_by_label("One-time code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/launch-room/")
    assert "You used a recovery code; 9 left" in page.locator(".messages").inner_text()
    page.goto("/admin/")
    assert page.get_by_role("heading", name="Launch workbench").is_visible()

    # And with the authenticator's code, computed from the key the device stores.
    page.get_by_role("button", name=re.compile("Log out")).first.click()
    log_in(page, "operator")
    page.wait_for_url(re.compile(r"/accounts/two-factor/\?next="))
    page.get_by_label("One-time code").fill(device_code("operator"))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url("**/launch-room/")
    assert "You used a recovery code" not in page.content()
    page.goto("/admin/")
    assert page.get_by_role("heading", name="Launch workbench").is_visible()
    assert blocked == [], blocked


def test_buyers_log_in_without_a_code(page: Any, staff: dict[str, Any], settings: Any):
    from tests.launch_helpers import build

    settings.STAFF_REQUIRE_2FA = True
    build("globex", staff)
    log_in(page, "buyer-globex")
    page.wait_for_url("**/launch-room/globex/")
