"""The session key is cycled when the second factor is verified: the key issued after the
password step is not the key of the fully verified staff session, and stops working."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from launchroom.tenants.two_factor import totp_device_for_enrolment
from tests.test_two_factor import code_for, enrolled, log_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings):  # type: ignore[no-untyped-def]
    settings.STAFF_REQUIRE_2FA = True


def session_key(client: Any) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def test_it_cycles_the_session_key_when_the_code_is_verified(client, staff):
    device, _codes = enrolled(staff["security"])
    log_in(client, "security")
    after_password = session_key(client)
    response = client.post(reverse("two_factor"), {"otp_token": code_for(device, steps_ahead=1)})
    assert response.status_code == 302
    after_code = session_key(client)
    assert after_code != after_password
    assert not SessionStore().exists(after_password)
    assert client.get("/admin/").status_code == 200

    # Whoever held the key from the password step holds nothing now.
    stale = Client()
    stale.cookies[django_settings.SESSION_COOKIE_NAME] = after_password
    assert stale.get("/admin/").status_code == 302


def test_it_cycles_the_session_key_when_a_device_is_enrolled(client, staff):
    log_in(client, "support")
    after_password = session_key(client)
    device = totp_device_for_enrolment(user=staff["support"])
    response = client.post(reverse("two_factor_setup"), {"otp_token": code_for(device)})
    assert response.status_code == 200
    assert session_key(client) != after_password
    assert not SessionStore().exists(after_password)
