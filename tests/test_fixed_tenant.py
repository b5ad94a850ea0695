"""Nothing can be moved to another tenant."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from billing.models import BillingProfile
from core.append_only import AppendOnlyError, AppendOnlyModel
from core.fixed import FixedOwnerError, FixedTenantMixin, owner_fields
from launchroom.conversation.services import comment_add
from launchroom.mail.services import email_enqueue
from launchroom.models import Incident, IncidentNotice, OrderForm, Tenant
from launchroom.orderforms.services import order_form_create
from launchroom.readiness.evaluation import evaluate
from tests.factories import draft_tenant, ready_tenant

pytestmark = pytest.mark.django_db

OUR_APPS = ("launchroom", "billing", "evidence")


def tenant_models() -> list[type]:
    """Every model (history tables aside, any app) with a foreign key or one-to-one field to Tenant."""
    found = []
    for model in apps.get_models():
        if model.__name__.startswith("Historical"):
            continue
        if any(f.concrete and f.is_relation and f.related_model is Tenant for f in model._meta.get_fields()):
            found.append(model)
    return found


def owned_models() -> list[type]:
    """Every model whose owner is fixed: those with a tenant, and those naming ``fixed_fields`` (a notice)."""
    return sorted({*tenant_models(), *(m for m in apps.get_models() if issubclass(m, FixedTenantMixin))}, key=str)


@pytest.fixture
def two(staff: dict[str, Any]) -> tuple[Tenant, Tenant]:
    """globex, with a row in every table that has a tenant, and another tenant, northwind."""
    globex = ready_tenant("globex", sign_for="paid_beta", live=True)
    northwind = draft_tenant("northwind")
    incident = Incident.objects.create(
        tenant=globex, severity="sev3", summary="Slow", customer_impact="Slow pages.", opened_at=timezone.now()
    )
    IncidentNotice.objects.create(
        incident=incident, recipient="Sponsor", channel="Phone", sent_at=timezone.now(), text="Known."
    )
    comment_add(tenant=globex, author=staff["commercial"], body="Welcome.", gate_key="billing-route")
    email_enqueue(to="ap@globex.example", subject="Invoice", body="Hello.", kind="notification", tenant=globex)
    order_form_create(tenant=globex, by=staff["commercial"])  # a draft: its tenant is fixed, not the whole row
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


def test_every_tenant_foreign_key_is_an_owner_the_models_keep_fixed() -> None:
    for model in tenant_models():
        relations = [
            f.name for f in model._meta.get_fields() if f.concrete and f.is_relation and f.related_model is Tenant
        ]
        assert set(relations) <= set(owner_fields(model)), model.__name__


def other_owner(row: Any, field: str, northwind: Tenant) -> Any:
    """An owner ``row`` does not have: northwind, or an incident of northwind's."""
    if field == "tenant":
        return northwind
    related = row._meta.get_field(field).related_model
    assert related is Incident, f"no other {field} to try for {type(row).__name__}"
    return Incident.objects.create(
        tenant=northwind, severity="sev4", summary="Other", customer_impact="None.", opened_at=timezone.now()
    )


def test_it_refuses_a_new_owner_on_every_orm_path(two: tuple[Tenant, Tenant]) -> None:
    """update(), bulk_update(), an upsert and save(), on the default and the base manager, for every model."""
    globex, northwind = two
    models = owned_models()
    assert {m.__name__ for m in models} >= {"BillingProfile", "SupportPlan", "TenantMembership", "IncidentNotice"}
    for model in models:
        # Append-only rows refuse every change; the others refuse exactly the move.
        refusals = (FixedOwnerError, AppendOnlyError) if issubclass(model, AppendOnlyModel) else FixedOwnerError
        # Order forms take no upsert at all (a signed version is frozen, whatever the key met).
        upsert_refusals = (FixedOwnerError, AppendOnlyError) if model is OrderForm else refusals
        for field in owner_fields(model):
            row = model._default_manager.filter(**({"tenant": globex} if field == "tenant" else {})).first()
            assert row is not None, f"no {model.__name__} of globex to try"
            pk, before = row.pk, getattr(row, f"{field}_id")
            new = other_owner(row, field, northwind)
            for manager in (model._default_manager, model._base_manager):
                for value in ({field: new}, {f"{field}_id": new.pk}):
                    with pytest.raises(refusals):
                        manager.filter(pk=pk).update(**value)
                moved = model._default_manager.get(pk=pk)
                setattr(moved, field, new)
                for fields in ([field], [f"{field}_id"]):
                    with pytest.raises(refusals):
                        manager.bulk_update([moved], fields)
                if model._meta.pk.name != field:  # (an upsert cannot name the primary key)
                    with pytest.raises(upsert_refusals):
                        manager.bulk_create([moved], update_conflicts=True, update_fields=[field], unique_fields=["pk"])
            with pytest.raises(refusals):
                moved.save()
            assert getattr(model._default_manager.get(pk=pk), f"{field}_id") == before, model.__name__


@pytest.mark.postgres
def test_the_database_refuses_a_new_tenant_by_sql(two: tuple[Tenant, Tenant]) -> None:
    globex, northwind = two
    for model in owned_models():
        for field in owner_fields(model):
            row = model._default_manager.filter(**({"tenant": globex} if field == "tenant" else {})).first()
            column = model._meta.get_field(field).column
            table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
            new = other_owner(row, field, northwind)
            refused = pytest.raises(DatabaseError, match=r"fixed once created|append-only")
            with refused, transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f'UPDATE {table} SET "{column}" = %s WHERE "{pk}" = %s', [new.pk, row.pk])
            assert getattr(model._default_manager.get(pk=row.pk), f"{field}_id") != new.pk, model.__name__
    # Other columns stay editable where the model allows it.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE billing_billingprofile SET plan = 'Renamed' WHERE tenant_id = %s", [globex.pk])
    assert BillingProfile.objects.get(tenant=globex).plan == "Renamed"


def test_it_still_updates_other_columns_in_bulk(two: tuple[Tenant, Tenant]) -> None:
    globex, _ = two
    assert BillingProfile.objects.filter(tenant=globex).update(plan="Bulk plan") == 1
    profile = BillingProfile.objects.get(tenant=globex)
    profile.seat_cap = 12
    BillingProfile.objects.bulk_update([profile], ["seat_cap"])
    assert BillingProfile.objects.get(pk=profile.pk).seat_cap == 12


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
        if not admin.site.is_registered(model):
            continue
        model_admin = admin.site.get_model_admin(model)
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
