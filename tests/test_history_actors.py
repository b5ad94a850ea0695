"""Every history row names who made the change, on every write path: the web, commands,
the shell (issue 10). Services name their ``by``; nothing relies on a web request."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from simple_history.models import HistoricalRecords

from core.history import acting_as, current_actor
from launchroom import demo
from launchroom.models import AcceptanceRecord, GateDecision, OrderForm, StageChange, Tenant

pytestmark = pytest.mark.django_db

DECISION_AND_RECORD_MODELS = [
    "launchroom.GateDecision",
    "launchroom.AcceptanceRecord",
    "launchroom.StageChange",
    "launchroom.DecisionLogEntry",
    "launchroom.Tenant",
    "launchroom.TenantMembership",
    "launchroom.OrderForm",
    "launchroom.SupportPlan",
    "billing.BillingProfile",
    "billing.BillingFallbackAcceptance",
    "evidence.EvidenceAttachment",
]


def history_of(label: str) -> Any:
    return apps.get_model(label).history  # type: ignore[attr-defined]


def test_it_names_an_actor_on_every_history_row_seed_demo_writes(settings: Any) -> None:
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    for label in DECISION_AND_RECORD_MODELS:
        rows = history_of(label).all()
        assert rows.exists(), label
        nameless = list(rows.filter(history_user__isnull=True).values_list("id", "history_type")[:5])
        assert nameless == [], f"{label} history rows with no actor: {nameless}"


def test_it_names_the_deciding_user_without_a_request(staff: dict[str, Any]) -> None:
    """No outer actor at all (as from the shell): each service names its own ``by``."""
    assert current_actor() is None
    tenant = demo.build_globex(staff)
    for label in DECISION_AND_RECORD_MODELS:
        assert not history_of(label).filter(history_user__isnull=True).exists(), label
    for decision in GateDecision.objects.filter(tenant=tenant):
        assert decision.history.get().history_user == decision.decided_by
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert record.history.get().history_user == record.recorded_by
    move = StageChange.objects.get(tenant=tenant)
    assert move.history.get().history_user == staff["operator"]
    assert Tenant.history.filter(id=tenant.pk).latest().history_user == staff["operator"]
    order_form = OrderForm.objects.get(tenant=tenant)
    assert [h.history_user for h in order_form.history.order_by("history_date")] == [staff["commercial"]] * 2
    assert current_actor() is None


def test_it_puts_back_the_surrounding_actor(staff: dict[str, Any]) -> None:
    with acting_as(staff["operator"]):
        with acting_as(staff["finance"]):
            assert current_actor() == staff["finance"]
        with acting_as(None):
            assert current_actor() == staff["operator"]
        assert current_actor() == staff["operator"]
    assert current_actor() is None
    assert not hasattr(HistoricalRecords.context, "request")


def test_it_keeps_a_web_request_in_place_after_a_service(client: Any, staff: dict[str, Any]) -> None:
    """A service inside a request puts the request back: later writes still name its user."""
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/move-stage/",
        {"apply": "1", "to_stage": "paused", "reason": "Customer asked to pause."},
    )
    assert response.status_code == 302
    assert Tenant.history.filter(id=tenant.pk).latest().history_user == staff["operator"]
    assert StageChange.objects.get(tenant=tenant).history.get().history_user == staff["operator"]
