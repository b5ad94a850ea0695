"""Property tests of the readiness decision, over tenants built from direct rows.

Each example builds its tenant inside a savepoint of the test transaction and rolls it
back, so examples never see each other's rows.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from launchroom import catalog
from launchroom.catalog import Effect
from launchroom.models import AcceptanceDecision, LaunchStage, Tenant
from launchroom.readiness.evaluation import GO, HOLD, evaluate
from launchroom.readiness.selectors import load
from tests.factories import (
    ATTACHMENT_REQUIREMENTS,
    CONFIG_FLAGS,
    EVIDENCE_GATES,
    AcceptanceRecordFactory,
    BillingProfileFactory,
    EvidenceAttachmentFactory,
    GateDecisionFactory,
    OrderFormFactory,
    SupportPlanFactory,
    TenantFactory,
    member,
    ready_tenant,
)

FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STANDING_EXCLUSIONS = "\n".join(catalog.STANDING_EXCLUSIONS)
STAGES = st.sampled_from([LaunchStage.PRIVATE_BETA, LaunchStage.PAID_BETA])
# Weighted towards a met state so that "go" states come up often enough to matter.
ATTACHMENT_STATE = st.sampled_from(["fresh", "fresh", "fresh", "fresh", "stale", "absent"])
DECISION = st.sampled_from(["accepted", "accepted", "accepted", None, "rejected", "reopened"])

TENANT_STATES = st.fixed_dictionaries(
    {
        "stage": STAGES,
        "regulated": st.booleans(),
        "configured": st.frozensets(st.sampled_from(CONFIG_FLAGS)),
        "order_form": st.sampled_from(["signed", "signed", "signed", "none", "draft", "signed_without_exclusions"]),
        "billing": st.sampled_from(["accepted", "accepted", "none", "unaccepted"]),
        "support": st.booleans(),
        "attachments": st.fixed_dictionaries({key: ATTACHMENT_STATE for key in ATTACHMENT_REQUIREMENTS}),
        "decisions": st.fixed_dictionaries({key: DECISION for key in EVIDENCE_GATES}),
        "acceptance": st.sampled_from(
            ["accepted", "accepted", "accepted_with_exclusions", None, "deferred", "superseded"]
        ),
    }
)
IMPROVEMENTS = st.one_of(
    st.tuples(st.just("accept"), st.sampled_from(EVIDENCE_GATES)),
    st.tuples(st.just("evidence"), st.sampled_from(ATTACHMENT_REQUIREMENTS)),
)


def build(state: dict[str, Any]) -> Tenant:
    flags = {flag: flag in state["configured"] for flag in CONFIG_FLAGS}
    tenant = TenantFactory(slug="prop", regulated_buyer=state["regulated"], **flags)
    order_form = None
    if state["order_form"] != "none":
        order_form = OrderFormFactory(
            tenant=tenant,
            requested_stage=state["stage"],
            signed=state["order_form"] != "draft",
            excluded_claims=""
            if state["order_form"] == "signed_without_exclusions"
            else OrderFormFactory.excluded_claims,
        )
    if state["billing"] != "none":
        BillingProfileFactory(tenant=tenant, accepted_by=member(tenant) if state["billing"] == "accepted" else None)
    if state["support"]:
        SupportPlanFactory(tenant=tenant)
    for (gate_key, requirement_key), kind in state["attachments"].items():
        if kind != "absent":
            EvidenceAttachmentFactory(
                tenant=tenant, gate_key=gate_key, requirement_key=requirement_key, age_days=1 if kind == "fresh" else 90
            )
    for gate_key, kind in state["decisions"].items():
        if kind is not None:
            GateDecisionFactory(tenant=tenant, gate_key=gate_key, decision=kind)
    if state["acceptance"] is not None:
        signed = order_form if order_form is not None and order_form.is_signed else None
        first = AcceptanceRecordFactory(tenant=tenant, stage=state["stage"], order_form=signed)
        if state["acceptance"] != AcceptanceDecision.ACCEPTED:
            AcceptanceRecordFactory(
                tenant=tenant, stage=state["stage"], decision=state["acceptance"], order_form=signed, supersedes=first
            )
    return tenant


def improve(tenant: Tenant, change: tuple[str, Any]) -> None:
    kind, target = change
    if kind == "accept":
        GateDecisionFactory(tenant=tenant, gate_key=target)
    else:
        gate_key, requirement_key = target
        EvidenceAttachmentFactory(tenant=tenant, gate_key=gate_key, requirement_key=requirement_key, age_days=0)


@FAST
@given(state=TENANT_STATES, change=IMPROVEMENTS)
def test_it_never_turns_go_into_hold_on_an_acceptance_or_fresh_evidence(db, state, change):
    now = timezone.now()
    with transaction.atomic():
        tenant = build(state)
        before = evaluate(load(tenant), state["stage"], now=now)
        blocks_before = {g.gate.key for g in before.gates if g.blocks}
        event(f"before: {before.decision}")

        improve(tenant, change)
        after = evaluate(load(tenant), state["stage"], now=now)

        # Stronger than go-stays-go: an improvement never adds a blocker.
        assert {g.gate.key for g in after.gates if g.blocks} <= blocks_before
        if before.decision == GO:
            assert after.decision == GO
        transaction.set_rollback(True)


HOLD_GATES = [g.key for g in catalog.GATES if g.effect == Effect.HOLD or g.hold_when_regulated]


def withdraw(tenant: Tenant, gate_key: str, how: int, stage: str) -> None:
    gate = catalog.gate(gate_key)
    if gate.decided_by is not None:
        GateDecisionFactory(tenant=tenant, gate_key=gate_key, decision=("reopened", "rejected")[how % 2])
    elif gate_key == "customer-acceptance":
        current = tenant.acceptance_records.get(stage=stage)
        decision = (AcceptanceDecision.SUPERSEDED, AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED)[how % 3]
        AcceptanceRecordFactory(
            tenant=tenant, stage=stage, decision=decision, order_form=current.order_form, supersedes=current
        )
    elif gate_key == "order-form-scope":
        OrderFormFactory(
            tenant=tenant, requested_stage=stage, signed=True, compliance_modules="", cohort_description=""
        )
    elif gate_key == "self-serve-exclusions":
        kept = [c for i, c in enumerate(catalog.STANDING_EXCLUSIONS) if i != how % 4]
        OrderFormFactory(tenant=tenant, requested_stage=stage, signed=True, excluded_claims="\n".join(kept))
    else:  # pragma: no cover - every HOLD gate is handled above
        raise AssertionError(gate_key)


@FAST
@given(
    stage=STAGES,
    regulated=st.booleans(),
    configured=st.frozensets(st.sampled_from(CONFIG_FLAGS)),
    gate_key=st.sampled_from(HOLD_GATES),
    how=st.integers(min_value=0, max_value=11),
)
def test_it_holds_when_any_hold_gates_acceptance_is_withdrawn(db, stage, regulated, configured, gate_key, how):
    gate = catalog.gate(gate_key)
    regulated = regulated or gate.effect != Effect.HOLD  # gate 8 holds only a regulated buyer
    with transaction.atomic():
        tenant = ready_tenant(
            "prop", requested_stage=stage, regulated=regulated, configured=configured, accepted_for=[stage]
        )
        assert evaluate(tenant, stage).decision == GO

        withdraw(tenant, gate_key, how, stage)
        after = evaluate(tenant, stage)

        assert after.decision == HOLD
        assert not after.gate(gate_key).met
        assert any(reason.startswith(gate.title) for reason in after.hold_reasons)
        transaction.set_rollback(True)


@FAST
@given(state=TENANT_STATES, stage=STAGES)
def test_it_always_lists_the_standing_exclusions_in_do_not_claim(db, state, stage):
    with transaction.atomic():
        tenant = build(state)
        readiness = evaluate(tenant, stage)

        assert readiness.do_not_claim[: len(catalog.STANDING_EXCLUSIONS)] == list(catalog.STANDING_EXCLUSIONS)
        assert len(set(readiness.do_not_claim)) == len(readiness.do_not_claim)
        transaction.set_rollback(True)
