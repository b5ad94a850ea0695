"""Every service that changes what the launch room shows gives the tenant a new room version,
so a viewer's kept page is rendered again, with the change (launchroom/room/cache.py).

The services say so themselves (``core.hooks.changes_launch_room``); this module imports every
``services.py`` of the apps and calls each marked service once. A service marked later without
a scenario below fails ``test_every_marked_service_has_a_scenario``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from billing.services import billing_fallback_accept, billing_profile_save
from core import hooks
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach, evidence_verify
from launchroom.acceptance.countersign import acceptance_countersign, acceptance_countersign_decline
from launchroom.acceptance.services import acceptance_sign
from launchroom.conversation.services import comment_add
from launchroom.models import Incident, LaunchStage, OrderForm, Tenant, TenantReadiness
from launchroom.orderforms.services import (
    order_form_buyer_approve,
    order_form_create,
    order_form_request_changes,
    order_form_revise,
    order_form_send,
    order_form_sign,
)
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide, stage_move
from launchroom.support.services import (
    incident_open,
    incident_resolve,
    status_broadcast_dry_run,
    support_plan_save,
)
from launchroom.tenants.services import tenant_update
from tests.launch_helpers import buyer, like_demo

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
APPS = ("core", "launchroom", "billing", "evidence")


def marked_services() -> list[Callable[..., Any]]:
    """Every service marked ``changes_launch_room``, once every app's services.py is imported."""
    for app in APPS:
        for path in sorted((ROOT / app).rglob("services.py")):
            importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return sorted(hooks.LAUNCH_ROOM_SERVICES, key=name)


def name(service: Callable[..., Any]) -> str:
    return f"{service.__module__}.{service.__qualname__}"


@dataclass(frozen=True)
class Scenario:
    """A demo tenant whose buyer sponsor keeps their room, and a call of the service.

    ``prepare`` runs before the room is kept (it may call other services); ``run`` calls the
    service and returns words the room shows afterwards and did not show before."""

    tenant: str
    run: Callable[[Tenant, dict[str, Any]], str]
    prepare: Callable[[Tenant, dict[str, Any]], object] | None = None


def latest_order_form(tenant: Tenant) -> OrderForm:
    return OrderForm.objects.filter(tenant=tenant).order_by("-version").first()


def send_latest(tenant: Tenant, staff: dict[str, Any]) -> OrderForm:
    return order_form_send(order_form=latest_order_form(tenant), by=staff["commercial"])


def _tenant_update(tenant: Tenant, staff: dict[str, Any]) -> str:
    tenant_update(tenant=tenant, by=staff["commercial"], name="Contoso Health Renamed")
    return "Contoso Health Renamed"


def _order_form_create(tenant: Tenant, staff: dict[str, Any]) -> str:
    order_form_create(tenant=tenant, by=staff["commercial"], cohort_size=240)
    return "Version 2 is being prepared"


def _order_form_revise(tenant: Tenant, staff: dict[str, Any]) -> str:
    order_form_revise(order_form=latest_order_form(tenant), by=staff["commercial"], cohort_size=777)
    return "(777 people)"


def _order_form_sign(tenant: Tenant, staff: dict[str, Any]) -> str:
    order_form_sign(
        order_form=latest_order_form(tenant),
        approval_reference="PO-ROOM-77",
        signer_name="Nadia",
        by=staff["commercial"],
    )
    return "PO-ROOM-77"


def _order_form_send(tenant: Tenant, staff: dict[str, Any]) -> str:
    send_latest(tenant, staff)
    return "Review version 1: approve it or request changes"


def _order_form_buyer_approve(tenant: Tenant, staff: dict[str, Any]) -> str:
    order_form_buyer_approve(
        order_form=latest_order_form(tenant), by=buyer(tenant.slug), name="Nadia Northcott", role="Sponsor"
    )
    return "v1 is approved by buyer"


def _order_form_request_changes(tenant: Tenant, staff: dict[str, Any]) -> str:
    order_form_request_changes(
        order_form=latest_order_form(tenant), by=buyer(tenant.slug), comment="Please widen the cohort."
    )
    return "Please widen the cohort."


def _gate_decide(tenant: Tenant, staff: dict[str, Any]) -> str:
    gate_decide(
        tenant=tenant, gate_key="public-deployment", decision="rejected", note="Smoke run too old", by=staff["operator"]
    )
    return "Smoke run too old"


def _sign_accepted(tenant: Tenant, staff: dict[str, Any]) -> str:
    readiness = evaluate(tenant)
    acceptance_sign(
        tenant=tenant,
        stage=readiness.stage,
        decision="accepted",
        signer_name="Carlos Conti",
        signer_role="Head of compliance operations",
        recorded_by=buyer(tenant.slug),
        exclusions=readiness.do_not_claim,
        residual_risks=["Room version risk"],
        affirmation="I affirm this decision for my organisation.",
    )
    return "Room version risk"


def _current_record(tenant: Tenant) -> Any:
    return evaluate(tenant).data.current_acceptance(LaunchStage.PAID_BETA)


def _countersign(tenant: Tenant, staff: dict[str, Any]) -> str:
    acceptance_countersign(record=_current_record(tenant), by=staff["operator"])
    return "Both signatures are on record."


def _countersign_decline(tenant: Tenant, staff: dict[str, Any]) -> str:
    acceptance_countersign_decline(record=_current_record(tenant), by=staff["operator"], note="Cohort too wide.")
    return "Cohort too wide."


def _sign_and_countersign(tenant: Tenant, staff: dict[str, Any]) -> None:
    _sign_accepted(tenant, staff)
    _countersign(tenant, staff)


def _stage_move(tenant: Tenant, staff: dict[str, Any]) -> str:
    stage_move(tenant=tenant, to_stage=LaunchStage.PAID_BETA, reason="Accepted.", by=staff["operator"])
    return "Your paid beta (invoice-led) started"


def _comment_add(tenant: Tenant, staff: dict[str, Any]) -> str:
    comment_add(
        tenant=tenant, author=staff["operator"], body="A comment on the room version.", gate_key="billing-route"
    )
    return "A comment on the room version."


def _support_plan_save(tenant: Tenant, staff: dict[str, Any]) -> str:
    support_plan_save(tenant=tenant, by=staff["support"], manual_incident_channel="Channel #room-version")
    return "Channel #room-version"


def _incident_open(tenant: Tenant, staff: dict[str, Any]) -> str:
    incident_open(
        tenant=tenant, severity="sev2", summary="Room version outage", customer_impact="None", by=staff["support"]
    )
    return "Room version outage"


def _incident_resolve(tenant: Tenant, staff: dict[str, Any]) -> str:
    incident = Incident.objects.get(tenant=tenant, resolved_at__isnull=True)
    incident_resolve(incident=incident, resolution="Fixed.", by=staff["support"])
    return "No open incidents."


def _status_broadcast_dry_run(tenant: Tenant, staff: dict[str, Any]) -> str:
    before = EvidenceAttachment.objects.filter(tenant=tenant).count()
    status_broadcast_dry_run(tenant=tenant, by=staff["support"])
    return f"All evidence ({before + 1} items)"


def _billing_fallback_accept(tenant: Tenant, staff: dict[str, Any]) -> str:
    billing_fallback_accept(profile=tenant.billing_profile, by=buyer(tenant.slug), name="Carla Accepting")
    return "by Carla Accepting"


def _billing_profile_save(tenant: Tenant, staff: dict[str, Any]) -> str:
    billing_profile_save(tenant=tenant, by=staff["finance"], plan="Room version plan")
    return "Room version plan"


def _evidence_attach(tenant: Tenant, staff: dict[str, Any]) -> str:
    before = EvidenceAttachment.objects.filter(tenant=tenant).count()
    evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        output="launch smoke run 42: all checks passed",
        captured_at=timezone.now() - timedelta(hours=1),
        produced_by_command="launch_proof_bundle",
    )
    return f"All evidence ({before + 1} items)"


def _evidence_verify(tenant: Tenant, staff: dict[str, Any]) -> str:
    attachment = EvidenceAttachment.objects.filter(tenant=tenant).exclude(file="").latest("id")
    attachment.file.storage.delete(attachment.file.name)  # the stored file went missing
    evidence_verify(attachment=attachment)
    return "failed its integrity check"


SCENARIOS: dict[Callable[..., Any], Scenario] = {
    tenant_update: Scenario("contoso", _tenant_update),
    order_form_create: Scenario("contoso", _order_form_create),
    order_form_revise: Scenario("northwind", _order_form_revise),
    order_form_sign: Scenario("northwind", _order_form_sign),
    order_form_send: Scenario("northwind", _order_form_send),
    order_form_buyer_approve: Scenario("northwind", _order_form_buyer_approve, prepare=send_latest),
    order_form_request_changes: Scenario("northwind", _order_form_request_changes, prepare=send_latest),
    gate_decide: Scenario("contoso", _gate_decide),
    stage_move: Scenario("contoso", _stage_move, prepare=_sign_and_countersign),
    acceptance_sign: Scenario("contoso", _sign_accepted),
    acceptance_countersign: Scenario("contoso", _countersign, prepare=_sign_accepted),
    acceptance_countersign_decline: Scenario("contoso", _countersign_decline, prepare=_sign_accepted),
    comment_add: Scenario("contoso", _comment_add),
    support_plan_save: Scenario("contoso", _support_plan_save),
    incident_open: Scenario("contoso", _incident_open),
    incident_resolve: Scenario(
        "initech",
        _incident_resolve,
        prepare=lambda t, s: incident_open(
            tenant=t, severity="sev2", summary="Queue delays", customer_impact="Slower checks", by=s["support"]
        ),
    ),
    status_broadcast_dry_run: Scenario("contoso", _status_broadcast_dry_run),
    billing_fallback_accept: Scenario(
        "contoso",
        _billing_fallback_accept,
        prepare=lambda t, s: billing_profile_save(tenant=t, by=s["finance"], seat_cap=160),
    ),
    billing_profile_save: Scenario("contoso", _billing_profile_save),
    evidence_attach: Scenario("northwind", _evidence_attach),
    evidence_verify: Scenario("contoso", _evidence_verify),
}


def test_every_marked_service_has_a_scenario() -> None:
    services = marked_services()
    assert gate_decide in services  # the import found the services
    missing = [name(s) for s in services if s not in SCENARIOS]
    assert not missing, f"changes the launch room but has no scenario here: {missing}"
    assert not [name(s) for s in SCENARIOS if s not in services], "a scenario for a service not marked"


def version(tenant: Tenant) -> str:
    return TenantReadiness.objects.get(tenant=tenant).room_version


@pytest.mark.parametrize("service", marked_services(), ids=name)
def test_the_service_changes_the_kept_room(service: Callable[..., Any], client: Any, staff: dict[str, Any]) -> None:
    scenario = SCENARIOS.get(service)
    if scenario is None:
        pytest.fail(f"{name(service)} changes the launch room but has no scenario here")
    tenant = like_demo(scenario.tenant)
    if scenario.prepare is not None:
        scenario.prepare(tenant, staff)
    client.force_login(get_user_model().objects.get(username=f"buyer-{tenant.slug}"))
    url = reverse("launchroom:room", args=[tenant.slug])
    first = client.get(url)
    assert first.context is not None  # rendered
    assert client.get(url).context is None  # kept: served again without a render
    before = version(tenant)

    shown = scenario.run(Tenant.objects.get(pk=tenant.pk), staff)

    assert version(tenant) != before
    after = client.get(url)
    assert after.status_code == 200
    assert after.context is not None  # rendered again
    old, new = first.content.decode(), after.content.decode()
    assert shown not in old
    assert shown in new, f"{shown!r} is not in the room; lines that changed: {changed_lines(old, new)}"


def changed_lines(old: str, new: str) -> list[str]:
    kept = set(old.splitlines())
    return [line.strip() for line in new.splitlines() if line not in kept and "csrfmiddlewaretoken" not in line]
