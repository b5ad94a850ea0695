"""A new instance carrying an existing row's primary key, and an upsert, are refused on
append-only and frozen rows, on SQLite as on PostgreSQL.

Django saves an instance whose primary key is set with an UPDATE when the row exists,
whatever the instance's state; ``bulk_create(update_conflicts=True)`` rewrites the row it
meets. On PostgreSQL the triggers refuse both; the refusals here are the ORM's own, so
they hold on the local default database too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models, transaction
from django.forms.models import model_to_dict

from billing.models import BillingProfile
from core.append_only import AppendOnlyError
from core.fixed import FixedOwnerError
from launchroom.models import GateDecision, LaunchStage, OrderForm, OrderFormStatus, StageChange, Tenant
from tests.factories import GateDecisionFactory, TenantFactory, ready_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db: None) -> Tenant:
    """A signed order form, gate decisions, a signature and a stage move into the paid beta."""
    return ready_tenant("globex", sign_for=LaunchStage.PAID_BETA, live=True)


def stored(row: models.Model) -> dict[str, Any]:
    return model_to_dict(type(row)._default_manager.get(pk=row.pk))


def a_copy(row: models.Model, **changes: Any) -> models.Model:
    """A new, unsaved instance with ``row``'s primary key and values, and ``changes``."""
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
    return type(row)(**{**values, **changes})


def rows(globex: Tenant) -> dict[str, tuple[models.Model, dict[str, Any]]]:
    """Each kind of row with the change an attacker would make to it."""
    return {
        "signed order form": (
            OrderForm.objects.get(tenant=globex, status=OrderFormStatus.SIGNED),
            {"cohort_size": 999, "excluded_claims": ""},
        ),
        "stage change": (StageChange.objects.filter(tenant=globex).first(), {"reason": "never happened"}),  # type: ignore[dict-item]
        "gate decision": (GateDecisionFactory(tenant=globex), {"decision": "rejected"}),
    }


KINDS = ["signed order form", "stage change", "gate decision"]


@pytest.mark.parametrize("kind", KINDS)
def test_it_refuses_to_save_a_new_instance_over_an_existing_row(globex: Tenant, kind: str) -> None:
    row, changes = rows(globex)[kind]
    before = stored(row)
    with pytest.raises(AppendOnlyError), transaction.atomic():
        a_copy(row, **changes).save()
    assert stored(row) == before


@pytest.mark.parametrize("kind", KINDS)
def test_it_refuses_an_upsert_over_an_existing_row(globex: Tenant, kind: str) -> None:
    row, changes = rows(globex)[kind]
    before = stored(row)
    manager = type(row)._default_manager
    with pytest.raises(AppendOnlyError), transaction.atomic():
        manager.bulk_create(
            [a_copy(row, **changes)], update_conflicts=True, unique_fields=["id"], update_fields=list(changes)
        )
    with pytest.raises(AppendOnlyError), transaction.atomic():
        type(row)._base_manager.bulk_create(
            [a_copy(row, **changes)], update_conflicts=True, unique_fields=["id"], update_fields=list(changes)
        )
    assert stored(row) == before


def test_it_still_saves_a_draft_order_form_and_new_rows(globex: Tenant) -> None:
    """The refusals leave ordinary writes alone: a draft is edited, a new decision is added."""
    signed = OrderForm.objects.get(tenant=globex, status=OrderFormStatus.SIGNED)
    draft = OrderForm.objects.create(tenant=globex, version=signed.version + 1, cohort_size=10)
    draft.cohort_size = 20
    draft.save()
    assert OrderForm.objects.get(pk=draft.pk).cohort_size == 20
    a_copy(draft, cohort_size=30).save()  # a draft is not frozen, whichever instance saves it
    assert OrderForm.objects.get(pk=draft.pk).cohort_size == 30
    decision = GateDecisionFactory(tenant=globex)
    assert GateDecision.objects.filter(pk=decision.pk).exists()


def test_it_refuses_a_new_instance_that_would_move_a_record_to_another_tenant(globex: Tenant) -> None:
    """The same path on a record whose tenant is fixed (core/fixed.py): no move by a copy."""
    profile = BillingProfile.objects.get(tenant=globex)
    other = TenantFactory()
    with pytest.raises(FixedOwnerError), transaction.atomic():
        a_copy(profile, tenant_id=other.pk).save()
    assert BillingProfile.objects.get(pk=profile.pk).tenant_id == globex.pk
