"""Customer accounts: invitations, set-password links, login, logout, password change and reset."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.errors import NotPermitted, Refused
from launchroom.models import MembershipRole, TenantMembership
from launchroom.tenants.accounts import invite_buyer, invite_token_generator
from tests.factories import draft_tenant
from tests.launch_helpers import buyer

pytestmark = pytest.mark.django_db

User = get_user_model()
NEW_PASSWORD = "correct-horse-battery-staple-42"


def link_in(message) -> str:
    match = re.search(r"https?://\S+", message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def invite(tenant, staff, capture, email="dana.doe@northwind.example", role=MembershipRole.BUYER_SPONSOR):
    mail.outbox.clear()
    with capture(execute=True):
        return invite_buyer(tenant=tenant, email=email, role=role, by=staff["commercial"])


@pytest.fixture
def northwind(db):
    """A tenant with its buyer sponsor ``buyer-northwind`` (password ``demo``)."""
    return draft_tenant("northwind", name="Northwind Traders")


@pytest.fixture
def contoso(db):
    """Another tenant with its buyer sponsor ``buyer-contoso``."""
    return draft_tenant("contoso", name="Contoso Health")


def set_password(client, link: str, password: str = NEW_PASSWORD):
    response = client.get(link)
    assert response.status_code == 302, "the link first moves its token into the session"
    form_url = response["Location"]
    response = client.post(form_url, {"new_password1": password, "new_password2": password})
    return response


def test_it_invites_a_new_buyer_with_a_one_time_link(client, staff, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    membership = invite(tenant, staff, django_capture_on_commit_callbacks)
    user = membership.user
    assert membership.tenant == tenant
    assert membership.role == MembershipRole.BUYER_SPONSOR
    assert not user.is_staff
    assert not user.has_usable_password()
    assert user.username == "dana.doe@northwind.example"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana.doe@northwind.example"]
    assert "Northwind Traders" in message.subject
    assert "expires in 3 days" in message.body
    assert "/accounts/invite/" in message.body


def test_it_sends_the_mail_only_once_the_membership_is_committed(staff, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite_buyer(tenant=tenant, email="late@northwind.example", role="viewer", by=staff["commercial"])
    assert mail.outbox == []
    # The mail and the audit event wait for the commit; the commit sends the one mail.
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1


def test_it_lets_an_invited_buyer_set_a_password_and_log_in(
    client, staff, django_capture_on_commit_callbacks, northwind
):
    tenant = northwind
    membership = invite(tenant, staff, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    response = set_password(client, link)
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    user = User.objects.get(pk=membership.user.pk)
    assert user.check_password(NEW_PASSWORD)

    response = client.post(
        reverse("login"), {"username": "Dana.Doe@northwind.example", "password": NEW_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("launchroom:room", args=[tenant.slug])
    assert "Northwind Traders" in response.content.decode()


def test_it_uses_the_link_only_once(client, staff, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    invite(tenant, staff, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])
    set_password(client, link)
    response = client.get(link, follow=True)
    assert "expired or has already been used" in response.content.decode()
    assert not response.context["validlink"]


def signed_at(user, seconds_ago: int) -> str:
    """An invitation token for ``user`` as if it had been issued ``seconds_ago``."""

    class Backdated(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - seconds_ago)

    return Backdated(salt=invite_token_generator.signer(user).salt).sign(str(user.pk))


def test_it_expires_the_link(client, staff, django_capture_on_commit_callbacks, settings, northwind):
    tenant = northwind
    user = invite(tenant, staff, django_capture_on_commit_callbacks).user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    stale = signed_at(user, settings.INVITE_TIMEOUT_SECONDS + 5)
    response = client.get(reverse("invite_accept", args=[uid, stale]), follow=True)
    assert "expired or has already been used" in response.content.decode()
    fresh = signed_at(user, settings.INVITE_TIMEOUT_SECONDS - 5)  # just inside the window
    response = client.get(reverse("invite_accept", args=[uid, fresh]))
    assert response.status_code == 302


def test_it_takes_the_lifetime_from_the_setting(client, staff, django_capture_on_commit_callbacks, settings, northwind):
    tenant = northwind
    user = invite(tenant, staff, django_capture_on_commit_callbacks).user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = signed_at(user, 120)
    settings.INVITE_TIMEOUT_SECONDS = 60
    response = client.get(reverse("invite_accept", args=[uid, token]), follow=True)
    assert "expired or has already been used" in response.content.decode()
    settings.INVITE_TIMEOUT_SECONDS = 600
    assert client.get(reverse("invite_accept", args=[uid, token])).status_code == 302


def test_it_refuses_another_users_link(client, staff, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    dana = invite(tenant, staff, django_capture_on_commit_callbacks).user
    other = invite(tenant, staff, django_capture_on_commit_callbacks, email="eve@northwind.example").user
    uid = urlsafe_base64_encode(force_bytes(other.pk))
    response = client.get(reverse("invite_accept", args=[uid, invite_token_generator.make_token(dana)]), follow=True)
    assert "expired or has already been used" in response.content.decode()


def test_it_does_not_take_a_password_reset_token_as_an_invite(
    client, staff, django_capture_on_commit_callbacks, northwind
):
    from django.contrib.auth.tokens import default_token_generator

    tenant = northwind
    user = invite(tenant, staff, django_capture_on_commit_callbacks).user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    response = client.get(reverse("invite_accept", args=[uid, default_token_generator.make_token(user)]), follow=True)
    assert "expired or has already been used" in response.content.decode()


def test_it_tells_an_existing_customer_about_a_new_tenant_without_a_link(
    staff, django_capture_on_commit_callbacks, northwind, contoso
):
    contoso = contoso
    existing = buyer("northwind")
    membership = invite(contoso, staff, django_capture_on_commit_callbacks, email=existing.email, role="viewer")
    assert membership.user == existing
    body = mail.outbox[0].body
    assert "/accounts/login/" in body
    assert "/accounts/invite/" not in body
    assert existing.has_usable_password()


def test_it_refuses_invites_it_should_not_send(staff, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    mail.outbox.clear()
    with pytest.raises(NotPermitted):
        invite_buyer(tenant=tenant, email="x@northwind.example", role="viewer", by=staff["finance"])
    with pytest.raises(NotPermitted):
        invite_buyer(tenant=tenant, email="x@northwind.example", role="viewer", by=buyer("northwind"))
    with pytest.raises(ValidationError) as error:
        invite_buyer(tenant=tenant, email="not-an-address", role="owner", by=staff["commercial"])
    assert set(error.value.message_dict) == {"email", "role"}
    with pytest.raises(Refused):
        invite_buyer(tenant=tenant, email=buyer("northwind").email, role="viewer", by=staff["commercial"])
    with pytest.raises(Refused):
        invite_buyer(tenant=tenant, email=staff["support"].email, role="viewer", by=staff["commercial"])
    assert mail.outbox == []
    assert not User.objects.filter(email="x@northwind.example").exists()


def test_it_resets_a_password_by_email(client, django_capture_on_commit_callbacks, northwind):
    tenant = northwind
    user = buyer("northwind")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": user.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    link = link_in(mail.outbox[0])
    assert "/accounts/password/reset/" in link
    response = set_password(client, link)
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    response = client.post(reverse("login"), {"username": "buyer-northwind", "password": NEW_PASSWORD})
    assert response["Location"] == reverse("launchroom:index")
    assert client.get(reverse("launchroom:room", args=[tenant.slug])).status_code == 200


def test_it_resets_the_password_of_an_invited_buyer_who_never_set_one(
    client, staff, django_capture_on_commit_callbacks, northwind
):
    tenant = northwind
    invite(tenant, staff, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "dana.doe@northwind.example"})
    assert len(mail.outbox) == 1
    assert set_password(client, link_in(mail.outbox[0])).status_code == 302


def test_it_says_the_same_for_an_unknown_address(client, staff):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_it_ends_access_at_once_when_the_membership_is_removed(client, contoso):
    tenant = contoso
    user = buyer("contoso")
    client.force_login(user)
    assert client.get(reverse("launchroom:room", args=[tenant.slug])).status_code == 200
    TenantMembership.objects.get(user=user, tenant=tenant).delete()
    assert client.get(reverse("launchroom:room", args=[tenant.slug])).status_code == 404
    assert client.get(reverse("launchroom:index")).status_code == 200
    assert "no launch rooms yet" in client.get(reverse("launchroom:index")).content.decode()


def test_it_logs_out(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    response = client.get(reverse("launchroom:room", args=[tenant.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_changes_the_password(client, northwind):
    client.force_login(buyer("northwind"))
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    response = client.post(
        reverse("password_change"),
        {"old_password": "demo", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert buyer("northwind").check_password(NEW_PASSWORD)
    wrong = client.post(
        reverse("password_change"), {"old_password": "demo", "new_password1": "short", "new_password2": "short"}
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors


def test_customers_never_reach_the_admin(client, contoso):
    client.force_login(buyer("contoso"))
    for url in ("/admin/", "/admin/launchroom/acceptancerecord/", "/admin/launchroom/tenant/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    client.logout()
    response = client.post("/admin/login/?next=/admin/", {"username": "buyer-contoso", "password": "demo"})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_it_shows_the_styled_login_and_reset_pages(client, db):
    for name in ("login", "password_reset"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        assert "css/launchroom.css" in response.content.decode()
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


def test_it_locks_out_after_repeated_failures(client, settings, northwind):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "buyer-northwind", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "buyer-northwind", "password": "demo"})
    assert response.status_code in (403, 429)
    assert "Too many failed attempts" in response.content.decode()
