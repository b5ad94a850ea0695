"""Issue 10: the login lockout keys on the client behind trusted proxies, and password-reset
and invitation e-mails are throttled per address and per account, counted in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from core.errors import Refused
from core.models import Throttle
from core.throttle import throttle_hit
from launchroom.models import MembershipRole, TenantMembership
from launchroom.tenants.accounts import invite_buyer
from tests.launch_helpers import buyer, like_demo

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
ATTACKER = "203.0.113.66"
VICTIM = "198.51.100.7"


def login_via_proxy(client: Any, username: str, password: str, forwarded_for: str, path: str = "/accounts/login/"):
    return client.post(
        path,
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
        secure=True,
    )


# Login lockout behind a proxy --------------------------------------------------------------


def test_it_locks_out_the_attackers_address_not_the_proxys(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        login_via_proxy(client, "finance", f"wrong-{attempt}", ATTACKER)
    assert login_via_proxy(client, "finance", "demo", ATTACKER).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}

    # The same user, from another client behind the same proxy, still logs in.
    response = login_via_proxy(client, "finance", "demo", VICTIM)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff["finance"].pk)


def test_it_ignores_addresses_the_client_wrote_into_x_forwarded_for(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # Each failure claims another client on the left; the proxy appended the real one on the right.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        login_via_proxy(client, "finance", f"wrong-{attempt}", f"192.0.2.{attempt}, {ATTACKER}")
    assert login_via_proxy(client, "finance", "demo", f"192.0.2.99, {ATTACKER}").status_code == 429
    assert login_via_proxy(client, "finance", "demo", f"{ATTACKER}, {VICTIM}").status_code == 302


def test_it_keys_on_the_connection_without_trusted_proxies(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        login_via_proxy(client, "finance", f"wrong-{attempt}", ATTACKER)
    # Without a trusted proxy X-Forwarded-For is the client's own word: the lockout holds.
    assert login_via_proxy(client, "finance", "demo", VICTIM).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


# Password-reset e-mails ----------------------------------------------------------------------


def reset(client: Any, email: str, forwarded_for: str = VICTIM):
    return client.post(
        reverse("password_reset"), {"email": email}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for
    )


def test_it_throttles_password_reset_mails_per_account(client, staff, settings, django_capture_on_commit_callbacks):
    settings.TRUSTED_PROXY_COUNT = 1
    like_demo("northwind")
    email = buyer("northwind").email
    mail.outbox.clear()
    for n in range(settings.EMAIL_THROTTLE_PER_ACCOUNT):
        # From a new address each time: only the per-account count can stop the next one.
        with django_capture_on_commit_callbacks(execute=True):  # the worker sends after commit
            assert reset(client, email, f"198.51.100.{n + 10}").status_code == 302
    assert len(mail.outbox) == settings.EMAIL_THROTTLE_PER_ACCOUNT

    response = reset(client, email.upper(), "198.51.100.99")
    assert response.status_code == 429
    assert "Too many password-reset e-mails went to this e-mail address" in response.content.decode()
    assert "nothing was sent" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert len(mail.outbox) == settings.EMAIL_THROTTLE_PER_ACCOUNT


def test_it_throttles_password_reset_mails_per_address(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.EMAIL_THROTTLE_PER_ADDRESS = 4
    for n in range(4):
        assert reset(client, f"someone-{n}@example.com", ATTACKER).status_code == 302
    response = reset(client, "someone-else@example.com", ATTACKER)
    assert response.status_code == 429
    assert "Too many password-reset e-mails were asked for from your address" in response.content.decode()
    # Another client behind the same proxy is not held by the attacker's count.
    assert reset(client, "someone-else@example.com", VICTIM).status_code == 302


def test_it_counts_unknown_addresses_like_known_ones(client, staff, settings):
    """The throttle answers the same whether or not an account exists: no enumeration."""
    for _ in range(settings.EMAIL_THROTTLE_PER_ACCOUNT):
        assert reset(client, "nobody@nowhere.example").status_code == 302
    assert reset(client, "nobody@nowhere.example").status_code == 429
    assert mail.outbox == []


def test_it_keeps_only_hashes_in_the_throttle_rows(client, staff):
    reset(client, "dana.doe@northwind.example")
    keys = list(Throttle.objects.values_list("scope", "key", "count"))
    assert {scope for scope, _, _ in keys} == {"password_reset:address", "password_reset:account"}
    assert all(len(key) == 64 and "@" not in key and "." not in key for _, key, _ in keys)
    assert all(count == 1 for _, _, count in keys)


def test_it_starts_counting_afresh_in_the_next_window(db: Any) -> None:
    assert throttle_hit(scope="t", value="a", limit=1, window_seconds=3600)
    assert not throttle_hit(scope="t", value="a", limit=1, window_seconds=3600)
    assert throttle_hit(scope="t", value="b", limit=1, window_seconds=3600)
    # Move the counts three hours back: a new window counts afresh, and the old rows go.
    row = Throttle.objects.filter(scope="t").first()
    Throttle.objects.filter(scope="t").update(window_start=row.window_start - timedelta(hours=3))
    assert throttle_hit(scope="t", value="a", limit=1, window_seconds=3600)
    assert Throttle.objects.filter(scope="t").count() == 1


# Invitations ---------------------------------------------------------------------------------


def test_it_throttles_invitations_per_account_and_saves_nothing(staff, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_THROTTLE_PER_ACCOUNT = 1
    northwind = like_demo("northwind")
    contoso = like_demo("contoso")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invite_buyer(tenant=northwind, email="dana.doe@example.com", role=MembershipRole.VIEWER, by=staff["commercial"])
    assert len(mail.outbox) == 1
    with (
        pytest.raises(Refused, match="Too many invitations went to this e-mail address"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        invite_buyer(tenant=contoso, email="Dana.Doe@example.com", role=MembershipRole.VIEWER, by=staff["commercial"])
    assert len(mail.outbox) == 1
    assert not TenantMembership.objects.filter(tenant=contoso, user__email__iexact="dana.doe@example.com").exists()


def test_it_throttles_invitations_per_address(staff, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_THROTTLE_PER_ADDRESS = 2
    tenant = like_demo("northwind")
    request = RequestFactory().post("/admin/", REMOTE_ADDR=ATTACKER)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(2):
            invite_buyer(
                tenant=tenant,
                email=f"p{n}@example.com",
                role=MembershipRole.VIEWER,
                by=staff["commercial"],
                request=request,
            )
    with pytest.raises(Refused, match="asked for from your address"):
        invite_buyer(
            tenant=tenant, email="p9@example.com", role=MembershipRole.VIEWER, by=staff["commercial"], request=request
        )
    assert len(mail.outbox) == 2
    assert not TenantMembership.objects.filter(user__email="p9@example.com").exists()


def test_it_does_not_count_an_invitation_that_was_refused_for_another_reason(
    staff, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_THROTTLE_PER_ACCOUNT = 1
    tenant = like_demo("northwind")
    with pytest.raises(Refused, match="staff account"):
        invite_buyer(tenant=tenant, email=staff["support"].email, role="viewer", by=staff["commercial"])
    assert not Throttle.objects.exists()


# Every worker sees the same count ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_when_workers_race() -> None:
    import threading

    from django.db import connection

    workers, limit = 8, 3
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        try:
            barrier.wait(timeout=10)
            allowed = throttle_hit(scope="race", value="dana.doe@example.com", limit=limit, window_seconds=3600)
        finally:
            connection.close()
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=hit) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * (workers - limit) + [True] * limit
    assert Throttle.objects.get(scope="race").count == limit
