"""Issue 10: two-factor authentication for staff (TOTP and recovery codes, django-otp).

Everyone logs in at /accounts/login/ with username and password; with STAFF_REQUIRE_2FA on,
staff then give a one-time code (or enrol first); buyers are never asked.
"""

from __future__ import annotations

import re
import time
from base64 import b32decode
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from launchroom.tenants.two_factor import totp_device_for_enrolment, two_factor_enrol
from tests.launch_helpers import like_demo

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):  # type: ignore[no-untyped-def]
    settings.STAFF_REQUIRE_2FA = True


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows, ``steps_ahead`` 30-second steps from now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def log_in(client: Any, username: str, password: str = "demo", next_url: str = "") -> Any:
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("login"), data)


def enrolled(user: Any) -> tuple[TOTPDevice, list[str]]:
    device = totp_device_for_enrolment(user=user)
    return two_factor_enrol(user=user, device_id=device.pk, token=code_for(device))


def follow_to_page(client: Any, response: Any) -> Any:
    while response.status_code == 302:
        response = client.get(response["Location"])
    return response


def test_it_sends_staff_without_a_device_to_enrol_then_shows_recovery_codes_once(client, staff):
    response = log_in(client, "operator")
    assert response.status_code == 302
    page = follow_to_page(client, response)
    assert page.request["PATH_INFO"] == reverse("two_factor_setup")
    html = page.content.decode()
    assert "<svg" in html and 'aria-label="QR code of your authenticator secret"' in html
    assert "<?xml" not in html
    assert "no-store" in page["Cache-Control"]
    device = TOTPDevice.objects.get(user=staff["operator"], confirmed=False)
    secret = re.search(r'data-testid="otp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert b32decode(secret) == device.bin_key

    # A reload shows the same secret: the app may have scanned it already.
    assert secret in client.get(reverse("two_factor_setup")).content.decode().replace(" ", "")

    wrong = client.post(reverse("two_factor_setup"), {"otp_token": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=staff["operator"], confirmed=True).exists()
    # A failure makes the device wait a second (django-otp's throttle) before the next try: the
    # second passes (the failure is dated a second and a bit earlier) rather than being slept.
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttling_failure_timestamp -= timedelta(seconds=1.1)
    device.save(update_fields=["throttling_failure_timestamp"])

    done = client.post(reverse("two_factor_setup"), {"otp_token": code_for(device), "next": "/admin/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert "Shown only this once" in done.content.decode()
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=staff["operator"]).values_list("token", flat=True)
    )
    # Verified by the enrolment: the admin opens; the setup page does not show codes again.
    assert client.get("/admin/").status_code == 200
    again = client.get(reverse("two_factor_setup"))
    assert again.status_code == 302
    assert all(code not in follow_to_page(client, again).content.decode() for code in codes)


def test_it_asks_enrolled_staff_for_a_code_on_a_second_page(client, staff):
    device, _ = enrolled(staff["security"])
    response = log_in(client, "security", next_url="/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    second = client.get("/admin/")
    assert second.status_code == 302
    assert second["Location"].startswith(reverse("two_factor") + "?next=")
    page = client.get(second["Location"])
    assert page.status_code == 200
    assert 'name="otp_token"' in page.content.decode()

    ok = client.post(reverse("two_factor"), {"otp_token": code_for(device, steps_ahead=1), "next": "/admin/"})
    assert ok.status_code == 302
    assert ok["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(reverse("launchroom:index")).status_code == 200


def test_it_refuses_a_wrong_code_and_a_code_used_before(client, staff):
    device, _ = enrolled(staff["security"])  # the current step's code is used up by enrolment
    log_in(client, "security")
    wrong = client.post(reverse("two_factor"), {"otp_token": "123456"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    reused = client.post(reverse("two_factor"), {"otp_token": code_for(device)})
    assert reused.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_it_throttles_guessing_codes(client, staff):
    device, _ = enrolled(staff["security"])
    log_in(client, "security")
    assert client.post(reverse("two_factor"), {"otp_token": "111111"}).status_code == 400
    # The right code, straight after a wrong one, is refused while the device cools off.
    response = client.post(reverse("two_factor"), {"otp_token": code_for(device, steps_ahead=1)})
    assert response.status_code == 400
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    assert device.throttling_failure_timestamp is not None
    assert client.get("/admin/").status_code == 302


def test_it_accepts_a_recovery_code_once(client, staff):
    _, codes = enrolled(staff["finance"])
    log_in(client, "finance")
    response = client.post(reverse("two_factor"), {"otp_token": codes[0]})
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "You used a recovery code; 9 left" in page.content.decode()

    client.post(reverse("logout"))
    log_in(client, "finance")
    again = client.post(reverse("two_factor"), {"otp_token": codes[0]})
    assert again.status_code == 400
    assert client.get("/admin/").status_code == 302
    assert StaticDevice.objects.get(user=staff["finance"]).token_set.count() == 9


def test_unverified_staff_cannot_open_the_admin_the_room_or_the_api(client, staff):
    tenant = like_demo("globex")
    enrolled(staff["operator"])
    log_in(client, "operator")
    for path in ("/admin/", "/admin/launchroom/tenant/", reverse("launchroom:room", args=[tenant.slug])):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("two_factor"))
    api = client.get(f"/api/platform/tenants/{tenant.slug}/readiness")
    assert api.status_code == 401
    assert api.json()["error"] == "two-factor verification required"
    # The admin's own login page leads to the same second step.
    client.post(reverse("logout"))
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "operator", "password": "demo", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get("/admin/")["Location"].startswith(reverse("two_factor"))


def test_it_lets_unverified_staff_log_out(client, staff):
    log_in(client, "support")
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_buyers_are_never_asked(client, staff):
    tenant = like_demo("contoso")
    response = log_in(client, "buyer-contoso")
    assert response.status_code == 302
    assert client.get(reverse("launchroom:room", args=[tenant.slug])).status_code == 200
    assert not TOTPDevice.objects.exists()
    # A buyer who finds the pages is sent on, not asked to enrol.
    assert client.get(reverse("two_factor_setup")).status_code == 302
    assert not TOTPDevice.objects.exists()


def test_it_does_not_ask_when_the_setting_is_off(client, staff, settings):
    settings.STAFF_REQUIRE_2FA = False
    log_in(client, "operator")
    assert client.get("/admin/").status_code == 200


def test_it_does_not_ask_api_token_requests(client, staff):
    from launchroom.models import ApiToken

    tenant = like_demo("globex")
    key = ApiToken.generate_key()
    ApiToken.objects.create(user=staff["operator"], name="ci", prefix=key[:12], key_sha256=ApiToken.hash_key(key))
    response = client.get(f"/api/platform/tenants/{tenant.slug}/readiness", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
