"""Nothing can be moved to another tenant (issue 10)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client, RequestFactory
from django.utils import timezone

from billing.models import BillingProfile
from core.append_only import AppendOnlyError
from core.fixed import FixedOwnerError
from launchroom.conversation.services import comment_add
from launchroom.gates.readiness import evaluate
from launchroom.mail.services import email_enqueue
from launchroom.models import Incident, IncidentNotice, Tenant
from tests.launch_helpers import build, prebuild

# Built once for the module; each test's changes are rolled back.
_demo = prebuild("globex", "northwind")

pytestmark = pytest.mark.django_db

OUR_APPS = ("launchroom", "billing", "evidence")


def tenant_models() -> list[type]:
    """Every model of ours (history tables aside) with a foreign key named ``tenant`` to Tenant."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model.__name__.startswith("Historical"):
            continue
        field = next((f for f in model._meta.get_fields() if f.name == "tenant" and f.is_relation), None)
        if field is not None and field.related_model is Tenant:
            found.append(model)
    return found


@pytest.fixture
def two(staff: dict[str, Any]) -> tuple[Tenant, Tenant]:
    globex = build("globex", staff)
    northwind = build("northwind", staff)
    incident = Incident.objects.create(
        tenant=globex, severity="sev3", summary="Slow", customer_impact="Slow pages.", opened_at=timezone.now()
    )
    IncidentNotice.objects.create(
        incident=incident, recipient="Sponsor", channel="Phone", sent_at=timezone.now(), text="Known."
    )
    comment_add(tenant=globex, author=staff["commercial"], body="Welcome.", gate_key="billing-route")
    email_enqueue(to="ap@globex.example", subject="Invoice", body="Hello.", kind="notification", tenant=globex)
    return globex, northwind


def test_it_refuses_to_move_any_record_to_another_tenant(two: tuple[Tenant, Tenant]) -> None:
    globex, northwind = two
    models = tenant_models()
    assert {m.__name__ for m in models} >= {"BillingProfile", "SupportPlan", "OrderForm", "TenantMembership"}
    for model in models:
        row = model._default_manager.filter(tenant=globex).first()
        assert row is not None, f"no {model.__name__} of globex to try"
        pk = row.pk  # (the stored readiness's key is its tenant: read it before the move)
        row.tenant_id = northwind.pk
        with pytest.raises((FixedOwnerError, AppendOnlyError)):
            row.save()
        assert model._default_manager.filter(pk=pk, tenant=globex).exists(), model.__name__


def test_it_refuses_to_move_a_notice_to_another_incident(two: tuple[Tenant, Tenant]) -> None:
    _globex, northwind = two
    other = Incident.objects.create(
        tenant=northwind, severity="sev4", summary="Other", customer_impact="None.", opened_at=timezone.now()
    )
    notice = IncidentNotice.objects.get()
    notice.incident = other
    with pytest.raises(FixedOwnerError):
        notice.save()


def test_it_still_saves_other_changes_and_new_rows(two: tuple[Tenant, Tenant]) -> None:
    globex, _ = two
    profile = BillingProfile.objects.get(tenant=globex)
    profile.plan = "Renamed plan"
    profile.save()
    profile.seat_cap = 77
    profile.save()  # a second save of the same instance
    assert BillingProfile.objects.get(pk=profile.pk).seat_cap == 77
    fresh = Tenant.objects.create(slug="fresh", name="Fresh")
    created = BillingProfile.objects.create(tenant=fresh, plan="Pilot")
    created.plan = "Pilot 2"
    created.save()


def test_it_shows_the_tenant_read_only_once_a_record_exists_in_every_admin(
    two: tuple[Tenant, Tenant], staff: dict[str, Any]
) -> None:
    globex, _ = two
    request = RequestFactory().get("/admin/")
    request.user = staff["operator"]
    checked = 0
    for model in tenant_models():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue
        row = model._default_manager.filter(tenant=globex).first()
        assert "tenant" in model_admin.get_readonly_fields(request, row), model.__name__
        checked += 1
    assert checked >= 6


def test_it_ignores_a_tenant_posted_to_the_billing_profile_admin(
    client: Client, two: tuple[Tenant, Tenant], staff: dict[str, Any]
) -> None:
    globex, northwind = two
    profile = BillingProfile.objects.get(tenant=globex)
    assert profile.fallback_accepted
    client.force_login(staff["finance"])
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="tenant"' not in page.content.decode()
    form = {
        name: getattr(profile, name) or ""
        for name in (
            "route",
            "plan",
            "seat_cap",
            "billing_owner_name",
            "billing_owner_email",
            "po_terms",
            "invoice_contact",
            "renewal_terms",
            "cancellation_terms",
        )
    }
    response = client.post(url, {**form, "tenant": northwind.pk})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert profile.tenant_id == globex.pk
    assert not BillingProfile.objects.filter(tenant=northwind).exists()
    gate4 = next(g for g in evaluate(northwind, "paid_beta").gates if g.gate.number == 4)
    assert gate4.status == "missing"


def test_it_binds_the_fallback_fingerprint_to_the_tenant(two: tuple[Tenant, Tenant]) -> None:
    globex, northwind = two
    accepted = BillingProfile.objects.get(tenant=globex)
    assert accepted.fallback_accepted
    copy = BillingProfile(tenant=northwind, **{name: getattr(accepted, name) for name in BillingProfile.TERMS_FIELDS})
    assert copy.terms_sha256() != accepted.terms_sha256()
    copy.fallback_accepted_at = accepted.fallback_accepted_at
    copy.fallback_terms_sha256 = accepted.fallback_terms_sha256
    assert not copy.fallback_accepted


def test_it_rebinds_existing_acceptances_in_the_migration(two: tuple[Tenant, Tenant]) -> None:
    import hashlib
    import json

    globex, _ = two
    migration = importlib.import_module("billing.migrations.0003_fallback_fingerprint_binds_tenant")
    profile = BillingProfile.objects.get(tenant=globex)
    terms = {name: getattr(profile, name) for name in BillingProfile.TERMS_FIELDS}
    old = hashlib.sha256(json.dumps(terms, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    profile.fallback_terms_sha256 = old  # as stored before the fingerprint bound the tenant
    profile.save()
    assert not BillingProfile.objects.get(pk=profile.pk).fallback_accepted
    migration.rebind(apps, None)
    assert BillingProfile.objects.get(pk=profile.pk).fallback_accepted
    migration.unbind(apps, None)
    assert BillingProfile.objects.get(pk=profile.pk).fallback_terms_sha256 == old
