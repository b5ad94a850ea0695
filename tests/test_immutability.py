"""Records that cannot be changed, at every level: signed order forms refuse every
ORM path, order-form signatures and billing-fallback acceptances are chained into the
decision log, and on PostgreSQL the database itself refuses UPDATE and DELETE."""

from __future__ import annotations

import io
from typing import Any

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from billing.models import BillingFallbackAcceptance, BillingProfile
from billing.services import billing_fallback_accept
from core.append_only import AppendOnlyError, AppendOnlyQuerySet
from evidence.models import EvidenceAttachment, EvidenceCheck
from evidence.services import evidence_verify
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceRecord,
    DecisionLogEntry,
    GateDecision,
    OrderForm,
    OrderFormStatus,
    StageChange,
    Tenant,
)
from launchroom.orderforms.services import order_form_create, order_form_revise
from launchroom.readiness import ledger
from tests.factories import BillingProfileFactory, ready_tenant
from tests.tamper import protected_tables, raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db: None) -> Tenant:
    """A signed order form, the billing fallback accepted, decisions, a signature, a stage move."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def broken(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_decision_log", *args, stdout=io.StringIO())
    return str(caught.value)


# Signed order forms: every ORM path --------------------------------------------------------


def test_it_refuses_queryset_update_delete_and_bulk_update_of_a_signed_order_form(globex: Tenant) -> None:
    signed = OrderForm.objects.get(tenant=globex)
    everything = OrderForm.objects.filter(tenant=globex)
    with pytest.raises(AppendOnlyError, match="frozen"):
        everything.update(cohort_size=999)
    with pytest.raises(AppendOnlyError, match="frozen"):
        everything.delete()
    signed.cohort_size = 999
    with pytest.raises(AppendOnlyError, match="frozen"):
        OrderForm.objects.bulk_update([signed], ["cohort_size"])
    with pytest.raises(AppendOnlyError):
        signed.save()
    with pytest.raises(AppendOnlyError):
        signed.delete()
    signed.refresh_from_db()
    assert signed.cohort_size == 120
    assert OrderForm.objects.filter(pk=signed.pk, status=OrderFormStatus.SIGNED).exists()


def test_it_refuses_a_bulk_update_that_touches_one_signed_row_among_drafts(globex: Tenant, staff: Any) -> None:
    draft = order_form_create(tenant=globex, by=staff["commercial"], cohort_size=200)
    with pytest.raises(AppendOnlyError):
        OrderForm.objects.filter(tenant=globex).update(cohort_description="Re-scoped")
    assert not OrderForm.objects.filter(cohort_description="Re-scoped").exists()
    assert OrderForm.objects.get(pk=draft.pk).cohort_size == 200


def test_it_refuses_signing_by_a_bulk_update(globex: Tenant, staff: Any) -> None:
    draft = order_form_create(tenant=globex, by=staff["commercial"])
    with pytest.raises(AppendOnlyError, match="order_form_sign"):
        OrderForm.objects.filter(pk=draft.pk).update(
            status=OrderFormStatus.SIGNED, approval_reference="PO-X", signed_at=draft.created_at
        )
    draft.status = OrderFormStatus.SIGNED
    with pytest.raises(AppendOnlyError, match="order_form_sign"):
        OrderForm.objects.bulk_update([draft], ["status"])
    assert OrderForm.objects.get(pk=draft.pk).status == OrderFormStatus.DRAFT


def test_it_still_edits_drafts_through_the_service(globex: Tenant, staff: Any) -> None:
    draft = order_form_create(tenant=globex, by=staff["commercial"])
    revised = order_form_revise(order_form=draft, by=staff["commercial"], cohort_size=240)
    assert revised.pk == draft.pk and revised.cohort_size == 240
    assert OrderForm.objects.filter(pk=draft.pk).delete()[0] == 1


# The decision log holds order-form signatures and billing-fallback acceptances -------------


def test_it_chains_the_signed_order_form_and_the_fallback_acceptance(globex: Tenant) -> None:
    order_form = OrderForm.objects.get(tenant=globex)
    acceptance = BillingFallbackAcceptance.objects.get(tenant=globex)
    assert DecisionLogEntry.objects.get(kind="signed_order_form").object_id == order_form.pk
    assert DecisionLogEntry.objects.get(kind="billing_fallback_acceptance").object_id == acceptance.pk
    profile = BillingProfile.objects.get(tenant=globex)
    assert profile.fallback_acceptance == acceptance
    assert acceptance.terms == profile.terms()
    assert acceptance.terms_sha256 == profile.terms_sha256() == profile.fallback_terms_sha256
    assert next(ledger.verify([globex])).broken is None


def test_it_keeps_each_acceptance_when_the_terms_change(db: None) -> None:
    tenant = ready_tenant("contoso")  # the buyer sponsor accepted the fallback for a seat cap of 150
    buyer = tenant.memberships.get(user__username="buyer-contoso").user
    profile = BillingProfile.objects.get(tenant=tenant)
    first = profile.fallback_acceptance
    profile.seat_cap = 300
    profile.save()
    assert not BillingProfile.objects.get(pk=profile.pk).fallback_accepted
    profile = billing_fallback_accept(profile=profile, by=buyer)
    assert profile.fallback_acceptance != first
    first.refresh_from_db()
    assert first.terms["seat_cap"] == 150
    assert profile.fallback_acceptance.terms["seat_cap"] == 300
    assert DecisionLogEntry.objects.filter(tenant=tenant, kind="billing_fallback_acceptance").count() == 2
    assert next(ledger.verify([tenant])).broken is None


def test_it_refuses_to_change_a_fallback_acceptance(globex: Tenant) -> None:
    row = BillingFallbackAcceptance.objects.get(tenant=globex)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        BillingFallbackAcceptance.objects.filter(pk=row.pk).update(accepted_name="Someone else")
    with pytest.raises(AppendOnlyError):
        BillingFallbackAcceptance.objects.filter(pk=row.pk).delete()


def test_it_detects_a_signed_order_form_edited_by_raw_sql(globex: Tenant) -> None:
    order_form = OrderForm.objects.get(tenant=globex)
    raw(f"UPDATE {table(OrderForm)} SET cohort_size = 5000 WHERE id = %s", [order_form.pk])
    assert f"globex: link 1: signed_order_form {order_form.pk} was edited after it was logged" in broken()


def test_it_detects_a_fallback_acceptance_edited_by_raw_sql(globex: Tenant) -> None:
    row = BillingFallbackAcceptance.objects.get(tenant=globex)
    raw(f"UPDATE {table(BillingFallbackAcceptance)} SET accepted_name = 'Someone else' WHERE id = %s", [row.pk])
    assert f"globex: link 2: billing_fallback_acceptance {row.pk} was edited after it was logged" in broken()


def test_it_detects_an_order_form_signed_behind_the_portals_back(globex: Tenant, staff: Any) -> None:
    draft = order_form_create(tenant=globex, by=staff["commercial"], cohort_size=999)
    raw(
        f"UPDATE {table(OrderForm)} SET status = 'signed', approval_reference = 'PO-FORGED', signed_at = created_at "
        "WHERE id = %s",
        [draft.pk],
    )
    assert f"globex: log: signed_order_form {draft.pk} is not in the log" in broken()


# On PostgreSQL the database itself refuses ------------------------------------------------

PROTECTED = [
    GateDecision,
    AcceptanceRecord,
    AcceptanceCountersignature,
    StageChange,
    DecisionLogEntry,
    BillingFallbackAcceptance,
]


def refused(sql: str, params: list[Any]) -> None:
    with (
        pytest.raises(IntegrityError, match="the database refuses this"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.mark.postgres
@pytest.mark.parametrize("model", PROTECTED, ids=lambda m: m.__name__)
def test_it_refuses_raw_sql_update_and_delete_of_decision_rows(globex: Tenant, model: Any) -> None:
    row = model.objects.filter(tenant=globex).first()
    refused(f"UPDATE {table(model)} SET tenant_id = tenant_id WHERE id = %s", [row.pk])
    refused(f"DELETE FROM {table(model)} WHERE id = %s", [row.pk])
    assert model.objects.filter(pk=row.pk).exists()


@pytest.mark.postgres
def test_it_refuses_raw_sql_update_and_delete_of_evidence(globex: Tenant) -> None:
    attachment = EvidenceAttachment.objects.filter(tenant=globex).exclude(file="").first()
    check = evidence_verify(attachment=attachment)
    for model, row in ((EvidenceAttachment, attachment), (EvidenceCheck, check)):
        refused(f"UPDATE {table(model)} SET id = id WHERE id = %s", [row.pk])
        refused(f"DELETE FROM {table(model)} WHERE id = %s", [row.pk])
    refused(f"UPDATE {table(EvidenceAttachment)} SET sha256 = %s WHERE id = %s", ["0" * 64, attachment.pk])


@pytest.mark.postgres
def test_it_refuses_raw_sql_changes_to_a_signed_order_form_but_not_to_a_draft(globex: Tenant, staff: Any) -> None:
    signed = OrderForm.objects.get(tenant=globex)
    refused(f"UPDATE {table(OrderForm)} SET cohort_size = 1 WHERE id = %s", [signed.pk])
    refused(f"DELETE FROM {table(OrderForm)} WHERE id = %s", [signed.pk])
    draft = order_form_create(tenant=globex, by=staff["commercial"])
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table(OrderForm)} SET cohort_size = 7 WHERE id = %s", [draft.pk])
    assert OrderForm.objects.get(pk=draft.pk).cohort_size == 7


@pytest.mark.postgres
def test_it_cannot_be_lifted_by_pgtriggers_session_switch(globex: Tenant) -> None:
    """``pgtrigger.ignore`` is a plain SET any connection may issue: our triggers ignore it."""
    row = GateDecision.objects.filter(tenant=globex).first()
    with pgtrigger.ignore("launchroom.GateDecision:append_only"):
        refused(f"DELETE FROM {table(GateDecision)} WHERE id = %s", [row.pk])
    pgid = GateDecision._meta.triggers[0].get_pgid(GateDecision)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL pgtrigger.ignore = '{{{pgid}}}'")
    refused(f"UPDATE {table(GateDecision)} SET note = 'x' WHERE id = %s", [row.pk])


@pytest.mark.postgres
def test_it_installs_a_trigger_on_every_protected_table(db: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgname LIKE 'pgtrigger_%%' AND t.tgenabled = 'O'"
        )
        installed = sorted(name for (name,) in cursor.fetchall())
    assert installed == protected_tables()
    # The decision tables (the operator's countersignature among them), evidence and its checks,
    # fallback acceptances, signed order forms, readiness transitions and the conversation; and
    # the eight other tables whose tenant (or incident) is fixed: memberships, billing profiles,
    # support plans, incidents, notices, notifications, queued e-mail and stored readiness
    # (core.fixed); and the nineteen history tables (core.append_only.keep_history).
    assert len(installed) == 38


def test_it_guards_every_append_only_model_with_a_trigger() -> None:
    from django.apps import apps

    from core.append_only import AppendOnlyModel

    guarded = {model for model, _trigger in pgtrigger.registered()}
    for model in apps.get_models():
        if issubclass(model, AppendOnlyModel):
            assert model in guarded, f"{model.__name__} is append-only but the database does not refuse changes"
    assert OrderForm in guarded


def test_the_base_manager_refuses_what_the_default_manager_refuses(globex: Tenant) -> None:
    """``_base_manager`` (Django's own, for related objects and refreshes) once skipped the
    refusals: on SQLite ``OrderForm._base_manager.filter(...).update()`` changed a signed row."""
    from django.apps import apps

    from core.fixed import FixedTenantQuerySet

    refusing = (AppendOnlyQuerySet, FixedTenantQuerySet)
    guarded = [m for m in apps.get_models() if isinstance(m._default_manager.get_queryset(), refusing)]
    assert len(guarded) == 19  # the countersignature (docs/RULES.md 5.9) is the nineteenth
    for model in guarded:
        assert type(model._base_manager.get_queryset()) is type(model._default_manager.get_queryset()), model
    signed = OrderForm.objects.get(tenant=globex)
    with pytest.raises(AppendOnlyError, match="frozen"):
        OrderForm._base_manager.filter(pk=signed.pk).update(cohort_size=999)
    with pytest.raises(AppendOnlyError, match="frozen"):
        OrderForm._base_manager.filter(pk=signed.pk).delete()
    decision = GateDecision.objects.filter(tenant=globex).first()
    with pytest.raises(AppendOnlyError):
        GateDecision._base_manager.filter(pk=decision.pk).update(note="changed")
    assert OrderForm.objects.get(pk=signed.pk).cohort_size == 120


def test_it_refuses_an_upsert_of_an_append_only_row(globex: Tenant) -> None:
    decision = GateDecision.objects.filter(tenant=globex).first()
    decision.note = "changed"
    with pytest.raises(AppendOnlyError, match="upsert"):
        GateDecision.objects.bulk_create(
            [decision], update_conflicts=True, update_fields=["note"], unique_fields=["pk"]
        )
    assert GateDecision.objects.get(pk=decision.pk).note != "changed"


# Upgrading: what was signed and accepted before the log held them is chained once -----------


def test_it_chains_order_forms_and_fallbacks_recorded_before_the_upgrade(db: None) -> None:
    import importlib

    from django.apps import apps
    from django.utils import timezone

    migration = importlib.import_module("launchroom.migrations.0006_chain_signed_order_forms_and_fallbacks")
    # A signed order form, decisions, no billing yet.
    tenant = ready_tenant("initech", without=["billing"], sign_for="private_beta", live=True)
    buyer = tenant.memberships.get(user__username="buyer-initech").user
    # As rows written before this change: a second signed version and an accepted fallback, no links.
    OrderForm.objects.create(
        tenant=tenant,
        version=2,
        status=OrderFormStatus.SIGNED,
        approval_reference="PO-INITECH-2026-02",
        signed_at=timezone.now(),
        compliance_modules="m",
        cohort_description="c",
    )
    profile = BillingProfileFactory(tenant=tenant)
    profile.fallback_accepted_by = buyer
    profile.fallback_accepted_name = "Ivan Ito"
    profile.fallback_accepted_at = timezone.now()
    profile.fallback_terms_sha256 = profile.terms_sha256()
    profile.save()
    assert "is not in the log" in str(next(ledger.verify([tenant])).broken)
    before = DecisionLogEntry.objects.filter(tenant=tenant).count()

    migration.chain_existing(apps, None)
    migration.chain_existing(apps, None)  # a second run finds nothing left to chain

    assert next(ledger.verify([tenant])).broken is None
    assert DecisionLogEntry.objects.filter(tenant=tenant).count() == before + 2
    acceptance = BillingFallbackAcceptance.objects.get(tenant=tenant)
    assert acceptance.terms == profile.terms() and acceptance.accepted_by == buyer
    assert BillingProfile.objects.get(pk=profile.pk).fallback_acceptance == acceptance
