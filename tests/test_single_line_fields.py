"""Names and other single-line fields refuse control characters in the service (a form error in
the admin), and an e-mail subject is one line whatever a stored value holds, so a tenant name
with a line break never stops that tenant's e-mail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.services import billing_fallback_accept, billing_profile_save
from launchroom.catalog import Role
from launchroom.mail.tasks import send_email
from launchroom.models import EmailKind, EmailStatus, OutboundEmail, SupportPlan, Tenant
from launchroom.support.services import incident_notice_add, incident_open, support_plan_save
from launchroom.tenants.accounts import invite_buyer
from launchroom.tenants.services import api_token_create, tenant_create, tenant_update
from tests.factories import (
    BillingProfileFactory,
    SupportPlanFactory,
    TenantFactory,
    UserFactory,
    member,
    staff_user,
)

pytestmark = pytest.mark.django_db

BAD = ["Acme\nHealth", "Acme\rHealth", "Acme\tHealth", "Acme\x1bHealth", "Acme\x85Health"]


@pytest.mark.parametrize("name", BAD)
def test_it_refuses_a_tenant_name_with_a_control_character(staff, name):
    with pytest.raises(ValidationError) as caught:
        tenant_create(by=staff["commercial"], name=name, slug="acme")
    assert "name" in caught.value.message_dict
    assert not Tenant.objects.filter(slug="acme").exists()
    tenant = TenantFactory(name="Acme Health")
    with pytest.raises(ValidationError):
        tenant_update(tenant=tenant, by=staff["commercial"], name=name)
    tenant.refresh_from_db()
    assert tenant.name == "Acme Health"


def test_it_shows_a_form_error_for_a_tenant_name_with_a_line_break_in_the_admin(client, staff):
    client.force_login(staff["commercial"])
    response = client.post(
        "/admin/launchroom/tenant/add/",
        {"name": "Acme\nHealth", "slug": "acme", "commercial_owner": staff["commercial"].pk},
    )
    assert response.status_code == 200
    assert "control character" in response.content.decode()
    assert not Tenant.objects.filter(slug="acme").exists()


def test_it_refuses_control_characters_in_billing_support_and_token_single_line_fields(staff):
    tenant = TenantFactory()
    with pytest.raises(ValidationError) as caught:
        billing_profile_save(tenant=tenant, by=staff["finance"], plan="Pilot\nplan", billing_owner_name="Fin\x07")
    assert {"plan", "billing_owner_name"} <= set(caught.value.message_dict)
    with pytest.raises(ValidationError):
        support_plan_save(tenant=tenant, by=staff["support"], support_owner_name="Sue\r\nBcc: x@example.com")
    assert not SupportPlan.objects.filter(tenant=tenant).exists()
    with pytest.raises(ValidationError):
        incident_open(tenant=tenant, severity="sev3", summary="Down\nagain", customer_impact="x", by=staff["support"])
    assert not tenant.incidents.exists()
    with pytest.raises(ValidationError):
        api_token_create(user=UserFactory(), name="ci\nbot", by=staff["operator"])


def test_it_refuses_a_fallback_acceptance_name_with_a_line_break():
    profile = BillingProfileFactory()
    sponsor = member(profile.tenant)
    with pytest.raises(ValidationError):
        billing_fallback_accept(profile=profile, by=sponsor, name="Bea\nBuyer")
    profile.refresh_from_db()
    assert not profile.fallback_accepted


def test_it_refuses_a_notice_recipient_with_a_line_break(staff):
    support = staff_user(Role.SUPPORT)
    incident = incident_open(
        tenant=TenantFactory(), severity="sev3", summary="Slow", customer_impact="Pages load slowly", by=support
    )
    with pytest.raises(ValidationError):
        incident_notice_add(
            incident=incident, recipient="Bea\nBuyer", channel="phone", sent_at=timezone.now(), text="told", by=support
        )
    assert not incident.notices.exists()


def test_it_sends_an_invitation_for_a_tenant_whose_stored_name_has_a_line_break(
    staff, django_capture_on_commit_callbacks
):
    tenant = TenantFactory()
    # Written straight into the database, past every service.
    Tenant.objects.filter(pk=tenant.pk).update(name="Acme\r\nBcc: everyone@example.com")
    tenant.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        invite_buyer(tenant=tenant, email="dana@acme.example", role="viewer", by=staff["commercial"])
    row = OutboundEmail.objects.get(to="dana@acme.example")
    assert row.status == EmailStatus.SENT, row.last_error
    assert mail.outbox[-1].subject == "You are invited to the Acme Bcc: everyone@example.com launch room"


def test_it_sends_a_status_notice_for_a_tenant_whose_stored_name_has_a_line_break(
    staff, django_capture_on_commit_callbacks
):
    plan = SupportPlanFactory(status_subscribers="ops@acme.example")
    Tenant.objects.filter(pk=plan.tenant_id).update(name="Acme\nHealth")
    plan.tenant.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        incident_open(tenant=plan.tenant, severity="sev3", summary="Slow", customer_impact="x", by=staff["support"])
    row = OutboundEmail.objects.get(to="ops@acme.example")
    assert row.status == EmailStatus.SENT, row.last_error
    assert "\n" not in mail.outbox[-1].subject


def test_it_sends_a_queued_row_whose_stored_subject_has_a_line_break():
    row = OutboundEmail.objects.create(kind=EmailKind.INVITATION, to="a@example.com", subject="Hi\nthere", body="x")
    assert send_email.call(row.pk) == "sent"
    assert mail.outbox[-1].subject == "Hi there"
