"""The readiness decision of docs/RULES.md section 4, as a pure function over data loaded in bulk.

``selectors.load_tenants`` reads everything a set of tenants needs in five queries, whatever the
number of tenants, attachments, decisions or records. ``evaluate`` is then pure: it reads
only what was loaded (and the clock), so a page can evaluate and display from one load.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.hashing import sha256_of
from evidence.freshness import attachment_problem
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.catalog import Effect, Gate, Kind, Requirement, Role
from launchroom.models import GateDecision, GateDecisionKind, LaunchStage, Tenant
from launchroom.readiness.record_rules import RECORD_RULES
from launchroom.readiness.selectors import TenantData, load
from launchroom.readiness.states import (
    ACCEPTED,
    AWAITING_COUNTERSIGNATURE,
    GO,
    HOLD,
    MET,
    MISSING,
    NOT_APPLICABLE,
    READY_FOR_REVIEW,
    REJECTED,
    STALE,
    STATUS_LABELS,
)

__all__ = [
    "ACCEPTED",
    "GO",
    "HOLD",
    "MET",
    "MISSING",
    "NOT_APPLICABLE",
    "READY_FOR_REVIEW",
    "REJECTED",
    "STALE",
    "STATUS_LABELS",
]


@dataclass
class RequirementResult:
    requirement: Requirement
    state: str  # met, missing, stale, not_applicable
    reason: str = ""
    attachment: EvidenceAttachment | None = None

    @property
    def met(self) -> bool:
        return self.state in (MET, NOT_APPLICABLE)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.requirement.key,
            "label": self.requirement.label,
            "kind": str(self.requirement.kind),
            "conditional": self.requirement.conditional,
            "state": self.state,
            "met": self.met,
            "reason": self.reason,
        }
        if self.attachment is not None:
            data["evidence"] = {"id": self.attachment.pk, "sha256": self.attachment.sha256}
        return data


@dataclass
class GateResult:
    gate: Gate
    status: str
    effect: Effect
    in_force: bool
    reasons: list[str]
    requirements: list[RequirementResult]
    latest_decision: GateDecision | None = None

    @property
    def met(self) -> bool:
        return self.status == ACCEPTED

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def blocks(self) -> bool:
        """Whether this gate holds the stage (a HOLD or CAP in force)."""
        return self.in_force and self.effect in (Effect.HOLD, Effect.CAP)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.gate.key,
            "number": self.gate.number,
            "title": self.gate.title,
            "owner": self.gate.owner,
            "status": self.status,
            "effect": str(self.effect),
            "in_force": self.in_force,
            "reasons": self.reasons,
            "requirements": [r.as_json() for r in self.requirements],
        }


@dataclass
class Readiness:
    """The readiness decision for one tenant and stage."""

    data: TenantData
    stage: str
    decision: str
    gates: list[GateResult]
    hold_reasons: list[str]
    do_not_claim: list[str]
    next_actions: dict[str, list[str]]

    @property
    def tenant(self) -> Tenant:
        return self.data.tenant

    @property
    def is_go(self) -> bool:
        return self.decision == GO

    def gate(self, key: str) -> GateResult:
        return next(g for g in self.gates if g.gate.key == key)

    @property
    def unmet_gates(self) -> list[GateResult]:
        return [g for g in self.gates if not g.met]

    def evidence_references(self) -> list[dict[str, Any]]:
        """The attachments this decision rests on: id and SHA-256 of each, in id order."""
        refs = {
            r.attachment.pk: r.attachment.sha256 for g in self.gates for r in g.requirements if r.attachment is not None
        }
        return [{"id": pk, "sha256": refs[pk]} for pk in sorted(refs)]

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant.slug,
            "stage": self.stage,
            "decision": self.decision,
            "gates": [g.as_json() for g in self.gates],
            "hold_reasons": self.hold_reasons,
            "do_not_claim": self.do_not_claim,
            "next_actions": self.next_actions,
        }

    def snapshot_sha256(self) -> str:
        """SHA-256 of the canonical JSON of the whole result (stage moves rest on it)."""
        return sha256_of(self.as_json())

    def acceptance_snapshot(self) -> dict[str, Any]:
        """What a buyer signs: every gate but their own, the exclusions, the order form and evidence.

        Gate 9 and the decision are left out, because signing changes them.
        """
        order_form = self.data.signed_order_form
        return {
            "tenant": self.tenant.slug,
            "stage": self.stage,
            "gates": [g.as_json() for g in self.gates if g.gate.key != "customer-acceptance"],
            "do_not_claim": self.do_not_claim,
            "order_form": None
            if order_form is None
            else {
                "id": order_form.pk,
                "version": order_form.version,
                "approval_reference": order_form.approval_reference,
            },
            "evidence": self.evidence_references(),
        }

    def acceptance_snapshot_sha256(self) -> str:
        return sha256_of(self.acceptance_snapshot())


def _attachment_requirement(data: TenantData, gate: Gate, requirement: Requirement, now: datetime) -> RequirementResult:
    applies = requirement.configured_flag is None or data.tenant.is_configured(requirement.configured_flag)
    candidates = data.attachments_for(gate.key, requirement.key)
    latest = candidates[0] if candidates else None
    if latest is None:
        if not applies:
            return RequirementResult(requirement, NOT_APPLICABLE, "not configured for this tenant")
        return RequirementResult(requirement, MISSING, f"{requirement.label} is missing")
    problem = attachment_problem(latest, requirement, now)
    if problem:
        state = STALE if applies else NOT_APPLICABLE
        return RequirementResult(requirement, state, f"{requirement.label} {problem}", latest)
    return RequirementResult(requirement, MET, "", latest)


def _record_requirement(data: TenantData, gate: Gate, requirement: Requirement, stage: str) -> RequirementResult:
    rule = RECORD_RULES.get(requirement.key)
    if rule is None:
        raise KeyError(f"no rule for record requirement {gate.key}/{requirement.key}")
    state, reason = rule(data, stage)
    return RequirementResult(requirement, state, reason)


def _gate_result(data: TenantData, gate: Gate, stage: str, now: datetime) -> GateResult:
    requirements = [
        _attachment_requirement(data, gate, r, now)
        if r.kind == Kind.ATTACHMENT
        else _record_requirement(data, gate, r, stage)
        for r in gate.requirements
    ]
    states = {r.state for r in requirements}
    reasons = [r.reason for r in requirements if r.state in (MISSING, STALE, REJECTED, AWAITING_COUNTERSIGNATURE)]
    latest_decision = next((d for d in data.decisions if d.gate_key == gate.key), None)
    if MISSING in states:
        status = MISSING
    elif REJECTED in states:
        status = REJECTED
    elif STALE in states:
        status = STALE
    elif AWAITING_COUNTERSIGNATURE in states:
        status = READY_FOR_REVIEW  # gate 9: the operator's countersignature (docs/RULES.md 5.9)
    elif gate.decided_by is None:
        status = ACCEPTED
    elif latest_decision is None or latest_decision.decision == GateDecisionKind.REOPENED:
        status = READY_FOR_REVIEW
        reasons.append(f"awaiting a decision by the {gate.decided_by.value.lower()}")
    elif latest_decision.decision == GateDecisionKind.REJECTED:
        status = REJECTED
        reasons.append(f"rejected: {latest_decision.note}")
    else:
        status = ACCEPTED
    effect = gate.effect_for(regulated_buyer=data.tenant.regulated_buyer)
    in_force = status != ACCEPTED and (effect != Effect.CAP or stage == LaunchStage.PAID_BETA)
    return GateResult(gate, status, effect, in_force, reasons, requirements, latest_decision)


def next_action_of(result: GateResult) -> list[tuple[str, str]]:
    gate = result.gate
    if result.status == READY_FOR_REVIEW and gate.decided_by is not None:
        return [(gate.decided_by.value, f"Review the evidence and decide gate {gate.number}: {gate.title}.")]
    if result.status == REJECTED and gate.decided_by is not None and result.latest_decision is not None:
        return [
            (gate.action_owner, f"Address the rejection of gate {gate.number} ({gate.title}) and ask for a new review.")
        ]
    actions = []
    for requirement in result.requirements:
        if requirement.state == AWAITING_COUNTERSIGNATURE:
            text = f"Countersign the buyer's acceptance (gate {gate.number}), or decline it with a reason."
            actions.append((Role.OPERATOR.value, text))
        elif requirement.state in (MISSING, STALE, REJECTED):
            owner = requirement.requirement.owner or gate.action_owner
            text = requirement.requirement.action
            if requirement.state == STALE:
                text = f"Refresh: {requirement.reason}. {text}"
            actions.append((owner, text))
    return actions


def evaluate(tenant: Tenant | TenantData, stage: str | None = None, *, now: datetime | None = None) -> Readiness:
    """Decide whether ``tenant`` may run ``stage`` (docs/RULES.md section 4).

    Given a ``Tenant``, its data is loaded first (five queries); given ``TenantData``,
    nothing is queried.
    """
    data = tenant if isinstance(tenant, TenantData) else load(tenant)
    stage = stage or data.requested_stage()
    if stage not in LaunchStage.values:
        raise ValueError(f"stage must be one of {', '.join(LaunchStage.values)}, not {stage!r}")
    now = now or timezone.now()
    gates = [_gate_result(data, gate, stage, now) for gate in catalog.GATES]

    hold_reasons = []
    for result in gates:
        if result.blocks:
            why = result.gate.hold_reason or result.gate.if_missing
            hold_reasons.append(f"{result.gate.title}: {why}")

    do_not_claim: dict[str, None] = dict.fromkeys(catalog.STANDING_EXCLUSIONS)
    for result in gates:
        if not result.met:
            do_not_claim.update(dict.fromkeys(result.gate.claims))
        else:
            for requirement in result.requirements:
                if requirement.state == NOT_APPLICABLE and requirement.requirement.claim:
                    do_not_claim[requirement.requirement.claim] = None

    next_actions: dict[str, list[str]] = defaultdict(list)
    for result in gates:
        if result.met:
            continue
        for owner, text in next_action_of(result):
            if text not in next_actions[owner]:
                next_actions[owner].append(text)

    decision = HOLD if any(g.blocks for g in gates) else GO
    return Readiness(
        data=data,
        stage=stage,
        decision=decision,
        gates=gates,
        hold_reasons=hold_reasons,
        do_not_claim=list(do_not_claim),
        next_actions=dict(next_actions),
    )
