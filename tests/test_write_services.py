"""Every write goes through a service, with history naming its actor: tenants and their flags,
memberships, billing profiles and API tokens, from the admin as from code."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from billing.models import BillingProfile
from billing.services import billing_profile_save
from core import hooks
from core.errors import NotPermitted, Refused
from launchroom import demo
from launchroom.models import ApiToken, MembershipRole, Tenant, TenantMembership
from launchroom.tenants.services import (
    api_token_create,
    api_token_revoke,
    membership_add,
    tenant_create,
    tenant_update,
)

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def causes() -> Iterator[list[tuple[int, str, object]]]:
    """The readiness announcements made while the test runs, through the real hook."""
    seen: list[tuple[int, str, object]] = []

    def listener(*, tenant_id: int, cause: str, actor: object) -> None:
        if not hooks.previewing():  # a preview's announcements are rolled back with it
            seen.append((tenant_id, cause, actor))

    hooks.on_readiness_change(listener)
    try:
        yield seen
    finally:
        hooks._readiness_listeners.remove(listener)


def tenant_page(tenant: Tenant, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": tenant.name,
        "slug": tenant.slug,
        "commercial_owner": tenant.commercial_owner_id or "",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        "order_forms-TOTAL_FORMS": 0,
        "order_forms-INITIAL_FORMS": 0,
    }
    data.update(fields)
    return data


def test_it_creates_a_tenant_in_the_admin_through_the_service(client, staff, causes):
    client.force_login(staff["commercial"])
    response = client.post(
        "/admin/launchroom/tenant/add/",
        {"name": "Acme", "slug": "acme", "commercial_owner": staff["commercial"].pk, "regulated_buyer": "on"},
    )
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="acme")
    assert tenant.regulated_buyer
    created = Tenant.history.get(id=tenant.pk)
    assert (created.history_type, created.history_user) == ("+", staff["commercial"])
    assert causes == [(tenant.pk, "tenant_create: new tenant", staff["commercial"])]


def test_it_changes_the_flags_through_the_service_and_announces_the_readiness_change(client, staff, causes):
    tenant = demo.new_tenant("acme", "Acme", staff)
    causes.clear()  # the demo builder announces the new tenant through the service too
    client.force_login(staff["commercial"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/change/",
        tenant_page(tenant, regulated_buyer="on", controlled_send_configured="on"),
    )
    assert response.status_code == 302, response.content[:2000]
    latest = Tenant.history.filter(id=tenant.pk).latest()
    assert (latest.regulated_buyer, latest.controlled_send_configured) == (True, True)
    assert latest.history_user == staff["commercial"]
    assert causes == [
        (tenant.pk, "tenant_update: controlled_send_configured, regulated_buyer changed", staff["commercial"])
    ]
    # A change readiness does not read announces nothing.
    causes.clear()
    tenant_update(tenant=tenant, by=staff["commercial"], name="Acme Industries")
    assert causes == []


def test_it_refuses_bad_tenant_input_and_saves_nothing(staff):
    with pytest.raises(ValidationError) as refused:
        tenant_create(by=staff["commercial"], name="Acme", slug="not a slug!")
    assert "slug" in refused.value.message_dict
    with pytest.raises(ValidationError):
        tenant_create(by=staff["commercial"], name="Acme", slug="acme", stage="paid_beta")
    with pytest.raises(NotPermitted):
        tenant_create(by=staff["support"], name="Acme", slug="acme")
    assert not Tenant.objects.exists()


def test_it_adds_members_in_the_tenant_page_through_the_service(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    customer = User.objects.create_user("ann", "ann@acme.example")
    client.force_login(staff["commercial"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/change/",
        tenant_page(
            tenant,
            **{
                "memberships-TOTAL_FORMS": 1,
                "memberships-0-user": customer.pk,
                "memberships-0-role": MembershipRole.BUYER_SPONSOR,
            },
        ),
    )
    assert response.status_code == 302, response.content[:3000]
    membership = TenantMembership.objects.get(tenant=tenant)
    assert (membership.user, membership.role) == (customer, MembershipRole.BUYER_SPONSOR)
    assert membership.history.get().history_user == staff["commercial"]


def test_it_shows_the_membership_rule_on_the_inline_and_saves_nothing(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["commercial"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/change/",
        tenant_page(
            tenant,
            regulated_buyer="on",
            **{
                "memberships-TOTAL_FORMS": 1,
                "memberships-0-user": staff["support"].pk,
                "memberships-0-role": MembershipRole.VIEWER,
            },
        ),
    )
    assert response.status_code == 200
    assert "is a staff account" in response.content.decode()
    assert not TenantMembership.objects.exists()
    tenant.refresh_from_db()
    assert not tenant.regulated_buyer


def test_it_changes_and_removes_memberships_with_their_actor(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    customer = User.objects.create_user("ann", "ann@acme.example")
    membership = membership_add(tenant=tenant, user=customer, role=MembershipRole.VIEWER, by=staff["commercial"])
    client.force_login(staff["commercial"])
    url = f"/admin/launchroom/tenantmembership/{membership.pk}/"
    assert client.post(url + "change/", {"role": MembershipRole.BUYER_FINANCE}).status_code == 302
    changed = membership.history.latest()
    assert (changed.role, changed.history_user) == (MembershipRole.BUYER_FINANCE, staff["commercial"])
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 302
    assert not TenantMembership.objects.exists()
    removed = TenantMembership.history.filter(id=membership.pk).latest()
    assert (removed.history_type, removed.history_user) == ("-", staff["commercial"])


def test_it_refuses_bad_membership_input(staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    customer = User.objects.create_user("ann", "ann@acme.example")
    with pytest.raises(ValidationError):
        membership_add(tenant=tenant, user=customer, role="owner", by=staff["commercial"])
    with pytest.raises(Refused, match="staff account"):
        membership_add(tenant=tenant, user=staff["finance"], role=MembershipRole.VIEWER, by=staff["commercial"])
    with pytest.raises(NotPermitted):
        membership_add(tenant=tenant, user=customer, role=MembershipRole.VIEWER, by=staff["finance"])
    assert not TenantMembership.objects.exists()


BILLING = {
    "route": "invoice_only",
    "plan": "Managed beta",
    "seat_cap": 50,
    "billing_owner_name": "Bea Biller",
    "billing_owner_email": "bea@acme.example",
    "po_terms": "Net 30",
    "invoice_contact": "",
    "renewal_terms": "Yearly",
    "cancellation_terms": "30 days' notice",
}


def test_it_saves_billing_profiles_in_the_admin_through_the_service(client, staff, causes):
    tenant = demo.new_tenant("acme", "Acme", staff)
    causes.clear()  # the demo builder announces the new tenant through the service too
    client.force_login(staff["finance"])
    response = client.post("/admin/billing/billingprofile/add/", {"tenant": tenant.pk, **BILLING})
    assert response.status_code == 302, response.content[:3000]
    profile = BillingProfile.objects.get(tenant=tenant)
    assert profile.history.get().history_user == staff["finance"]
    assert causes == [(tenant.pk, "billing_profile_save: profile created", staff["finance"])]
    causes.clear()
    response = client.post(f"/admin/billing/billingprofile/{profile.pk}/change/", {**BILLING, "seat_cap": 80})
    assert response.status_code == 302, response.content[:3000]
    profile.refresh_from_db()
    assert profile.seat_cap == 80
    assert profile.history.latest().history_user == staff["finance"]
    assert causes == [(tenant.pk, "billing_profile_save: terms changed", staff["finance"])]


def test_it_refuses_bad_billing_input_and_saves_nothing(staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    with pytest.raises(ValidationError) as refused:
        billing_profile_save(tenant=tenant, by=staff["finance"], **{**BILLING, "billing_owner_email": "nope"})
    assert "billing_owner_email" in refused.value.message_dict
    with pytest.raises(ValidationError):
        billing_profile_save(tenant=tenant, by=staff["finance"], fallback_accepted_name="Me")
    with pytest.raises(NotPermitted):
        billing_profile_save(tenant=tenant, by=staff["support"], **BILLING)
    assert not BillingProfile.objects.exists()


def test_it_creates_and_revokes_tokens_through_the_services_with_their_actor(staff):
    token, key = api_token_create(user=staff["commercial"], name="CRM sync", by=staff["operator"])
    assert token.key_sha256 == ApiToken.hash_key(key)
    assert token.history.get().history_user == staff["operator"]
    assert api_token_revoke(token=token, by=staff["operator"]) is True
    assert api_token_revoke(token=token, by=staff["operator"]) is False
    revoked = token.history.latest()
    assert revoked.revoked_at is not None and revoked.history_user == staff["operator"]
    with pytest.raises(ValidationError):
        api_token_create(user=staff["commercial"], name=" ", by=staff["operator"])
    with pytest.raises(NotPermitted):
        api_token_create(user=staff["commercial"], name="Mine", by=staff["commercial"])
    assert ApiToken.objects.count() == 1
