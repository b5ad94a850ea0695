"""The readiness decision of SPEC section 4, as a pure function over data loaded in bulk.

``load_tenants`` reads everything a set of tenants needs in five queries, whatever the
number of tenants, attachments, decisions or records. ``evaluate`` is then pure: it reads
only what was loaded (and the clock), so a page can evaluate and display from one load.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from billing.models import BillingProfile
from evidence.models import EvidenceAttachment, EvidenceCheck
from launchroom import catalog
from launchroom.catalog import DEFAULT_FRESHNESS, Effect, Gate, Kind, Requirement
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    GateDecision,
    GateDecisionKind,
    LaunchStage,
    OrderForm,
    OrderFormStatus,
    SupportPlan,
    Tenant,
)

MISSING = "missing"
STALE = "stale"
READY_FOR_REVIEW = "ready_for_review"
REJECTED = "rejected"
ACCEPTED = "accepted"
STATUS_LABELS = {
    MISSING: "Missing",
    STALE: "Stale",
    READY_FOR_REVIEW: "Ready for review",
    REJECTED: "Rejected",
    ACCEPTED: "Accepted",
}
GO = "go"
HOLD = "hold"

# Requirement states.
MET = "met"
NOT_APPLICABLE = "not_applicable"


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace: the form every snapshot hash is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_of(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass
class TenantData:
    """Everything the readiness rules read for one tenant, loaded in bulk."""

    tenant: Tenant
    order_forms: list[OrderForm] = field(default_factory=list)  # newest version first
    billing: BillingProfile | None = None
    support: SupportPlan | None = None
    # The newest attachment of each requirement, newest capture first; each carries
    # ``same_requirement``, the number of attachments that requirement has in all.
    attachments: list[EvidenceAttachment] = field(default_factory=list)
    decisions: list[GateDecision] = field(default_factory=list)  # newest first
    acceptances: list[AcceptanceRecord] = field(default_factory=list)  # newest first

    @property
    def latest_order_form(self) -> OrderForm | None:
        return self.order_forms[0] if self.order_forms else None

    @property
    def signed_order_form(self) -> OrderForm | None:
        return next((o for o in self.order_forms if o.status == OrderFormStatus.SIGNED), None)

    def requested_stage(self) -> str:
        latest = self.latest_order_form
        return latest.requested_stage if latest else LaunchStage.PRIVATE_BETA

    def current_acceptance(self, stage: str) -> AcceptanceRecord | None:
        """The record of this stage that no other record supersedes."""
        records = [r for r in self.acceptances if r.stage == stage]
        replaced = {r.supersedes_id for r in records if r.supersedes_id}
        current = [r for r in records if r.pk not in replaced]
        return current[0] if current else None

    def superseded_by(self) -> dict[int, AcceptanceRecord]:
        return {r.supersedes_id: r for r in self.acceptances if r.supersedes_id}

    def attachments_for(self, gate_key: str, requirement_key: str) -> list[EvidenceAttachment]:
        return [a for a in self.attachments if a.gate_key == gate_key and a.requirement_key == requirement_key]

    @property
    def evidence_total(self) -> int:
        """Every attachment of the tenant, older ones included."""
        return sum(getattr(a, "same_requirement", 1) for a in self.attachments)


# What evaluate() reads of each row: a portfolio load builds only these columns.
LEAN_ATTACHMENT_FIELDS = (
    "id",
    "tenant_id",
    "gate_key",
    "requirement_key",
    "captured_at",
    "sha256",
    "uploaded_by_id",
    "produced_by_command",
)
LEAN_DECISION_FIELDS = ("id", "tenant_id", "gate_key", "decision", "note", "decided_at")
LEAN_ACCEPTANCE_FIELDS = ("id", "tenant_id", "stage", "decision", "order_form_id", "supersedes_id", "signed_at")


def _attachment_queryset(*, with_output: bool, lean: bool = False) -> QuerySet[EvidenceAttachment]:
    """The newest attachment of each requirement, with how many it has in all.

    Readiness reads only the newest attachment of a requirement, so only those rows are
    built, however long a tenant's evidence history grows; ``same_requirement`` counts the
    rest for the pages that link to them.
    """
    latest_check = EvidenceCheck.objects.filter(attachment=OuterRef("pk")).order_by("-checked_at", "-id")
    per_requirement = [F("tenant_id"), F("gate_key"), F("requirement_key")]
    qs = (
        EvidenceAttachment.objects.annotate(
            newest_first=Window(
                RowNumber(), partition_by=per_requirement, order_by=[F("captured_at").desc(), F("id").desc()]
            ),
            same_requirement=Window(Count("id"), partition_by=per_requirement),
        )
        .filter(newest_first=1)
        .annotate(
            check_ok=Subquery(latest_check.values("ok")[:1]),
            check_detail=Subquery(latest_check.values("detail")[:1]),
        )
    )
    if lean:
        qs = qs.only(*LEAN_ATTACHMENT_FIELDS)
    elif not with_output:
        qs = qs.defer("output")
    return qs.order_by("-captured_at", "-id")


def load_tenants(tenants: QuerySet[Tenant], *, with_output: bool = False, lean: bool = False) -> list[TenantData]:
    """Load every tenant of ``tenants`` with what readiness needs, in five queries.

    ``lean`` (portfolios) builds only the columns ``evaluate`` reads and no related users;
    otherwise the rows are whole, for pages that also show who decided what.
    """
    related = ["billing_profile", "support_plan"] if lean else ["billing_profile", "support_plan", "commercial_owner"]
    rows = list(tenants.select_related(*related))
    by_id: dict[int, TenantData] = {}
    for tenant in rows:
        by_id[tenant.pk] = TenantData(
            tenant=tenant,
            billing=getattr(tenant, "billing_profile", None),
            support=getattr(tenant, "support_plan", None),
        )
    if not by_id:
        return []
    ids = tenants.values("pk")
    for order_form in OrderForm.objects.filter(tenant__in=ids).order_by("tenant_id", "-version"):
        by_id[order_form.tenant_id].order_forms.append(order_form)
    for attachment in _attachment_queryset(with_output=with_output, lean=lean).filter(tenant__in=ids):
        by_id[attachment.tenant_id].attachments.append(attachment)
    decisions = GateDecision.objects.filter(tenant__in=ids)
    decisions = decisions.only(*LEAN_DECISION_FIELDS) if lean else decisions.select_related("decided_by")
    for decision in decisions:
        by_id[decision.tenant_id].decisions.append(decision)
    acceptances = AcceptanceRecord.objects.filter(tenant__in=ids).order_by("-signed_at", "-id")
    acceptances = acceptances.only(*LEAN_ACCEPTANCE_FIELDS) if lean else acceptances.defer("snapshot")
    for record in acceptances:
        by_id[record.tenant_id].acceptances.append(record)
    return [by_id[t.pk] for t in rows]


def load(tenant: Tenant, *, with_output: bool = True) -> TenantData:
    """Load one tenant (five queries)."""
    return load_tenants(Tenant.objects.filter(pk=tenant.pk), with_output=with_output)[0]


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


def freshness_limit(requirement: Requirement) -> timedelta | None:
    if requirement.freshness_days is None:
        return None
    days = (
        settings.EVIDENCE_FRESHNESS_DAYS
        if requirement.freshness_days == DEFAULT_FRESHNESS
        else requirement.freshness_days
    )
    return timedelta(days=int(days))


def attachment_problem(attachment: EvidenceAttachment, requirement: Requirement, now: datetime) -> str:
    """Why an attachment no longer counts ("" when it does): integrity first, then age."""
    if len(attachment.sha256) != 64:
        return "has no valid SHA-256"
    check_ok = getattr(attachment, "check_ok", None)
    if check_ok is False:
        detail = getattr(attachment, "check_detail", "") or "content does not match its SHA-256"
        return f"failed its integrity check ({detail})"
    limit = freshness_limit(requirement)
    if limit is not None and attachment.captured_at < now - limit:
        return f"is older than {limit.days} days"
    return ""


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
    key = requirement.key
    order_form = data.signed_order_form
    if key == "signed-order-form":
        if order_form is None:
            latest = data.latest_order_form
            where = f" (v{latest.version} is {latest.get_status_display().lower()})" if latest else ""
            return RequirementResult(requirement, MISSING, f"no signed order form{where}")
        return RequirementResult(requirement, MET)
    if key == "approved-scope":
        if order_form is None:
            return RequirementResult(requirement, MISSING, "no signed order form")
        gaps = [
            name
            for name, value in (
                ("compliance modules", order_form.compliance_modules),
                ("worker cohort", order_form.cohort_description),
            )
            if not value.strip()
        ]
        if gaps:
            return RequirementResult(requirement, MISSING, f"the signed order form has no {' or '.join(gaps)}")
        return RequirementResult(requirement, MET)
    if key == "exclusions-on-order-form":
        if order_form is None:
            return RequirementResult(requirement, MISSING, "no signed order form")
        listed = {line.casefold() for line in order_form.lines("excluded_claims")}
        absent = [claim for claim in catalog.STANDING_EXCLUSIONS if claim.casefold() not in listed]
        if absent:
            return RequirementResult(requirement, MISSING, "the signed order form does not list: " + "; ".join(absent))
        return RequirementResult(requirement, MET)
    if key == "billing-profile":
        if data.billing is None:
            return RequirementResult(requirement, MISSING, "no billing profile")
        return RequirementResult(requirement, MET)
    if key == "billing-terms":
        if data.billing is None:
            return RequirementResult(requirement, MISSING, "no billing profile")
        missing = data.billing.missing_terms()
        if missing:
            return RequirementResult(requirement, MISSING, "billing profile lacks " + ", ".join(missing))
        return RequirementResult(requirement, MET)
    if key == "billing-fallback-accepted":
        billing = data.billing
        if billing is None or not billing.fallback_accepted_at:
            return RequirementResult(requirement, MISSING, "the buyer has not accepted the manual billing fallback")
        if not billing.fallback_accepted:
            return RequirementResult(
                requirement, MISSING, "the billing terms changed after the buyer accepted the manual billing fallback"
            )
        return RequirementResult(requirement, MET)
    if key == "support-owner":
        plan = data.support
        if plan is None or not (plan.support_owner_id or (plan.support_owner_name and plan.support_owner_email)):
            return RequirementResult(requirement, MISSING, "no named support owner")
        return RequirementResult(requirement, MET)
    if key == "incident-channel":
        if data.support is None or not data.support.manual_incident_channel.strip():
            return RequirementResult(requirement, MISSING, "no manual incident channel")
        return RequirementResult(requirement, MET)
    if key == "acceptance-record":
        return _acceptance_requirement(data, requirement, stage)
    raise KeyError(f"no rule for record requirement {gate.key}/{key}")


def _acceptance_requirement(data: TenantData, requirement: Requirement, stage: str) -> RequirementResult:
    record = data.current_acceptance(stage)
    stage_label = LaunchStage(stage).label.lower()
    if record is None:
        return RequirementResult(requirement, MISSING, f"no acceptance record for {stage_label}")
    if record.decision == AcceptanceDecision.SUPERSEDED:
        return RequirementResult(requirement, MISSING, f"the acceptance for {stage_label} was withdrawn")
    if record.decision in (AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED):
        return RequirementResult(
            requirement, REJECTED, f"the buyer {record.get_decision_display().lower()} {stage_label}"
        )
    signed = data.signed_order_form
    if signed is not None and record.order_form_id != signed.pk:
        seen = next((o for o in data.order_forms if o.pk == record.order_form_id), None)
        version = f"v{seen.version}" if seen else "no signed version"
        return RequirementResult(
            requirement, STALE, f"order form v{signed.version} was signed after this acceptance ({version})"
        )
    return RequirementResult(requirement, MET)


def _gate_result(data: TenantData, gate: Gate, stage: str, now: datetime) -> GateResult:
    requirements = [
        _attachment_requirement(data, gate, r, now)
        if r.kind == Kind.ATTACHMENT
        else _record_requirement(data, gate, r, stage)
        for r in gate.requirements
    ]
    states = {r.state for r in requirements}
    reasons = [r.reason for r in requirements if r.state in (MISSING, STALE, REJECTED)]
    latest_decision = next((d for d in data.decisions if d.gate_key == gate.key), None)
    if MISSING in states:
        status = MISSING
    elif REJECTED in states:
        status = REJECTED
    elif STALE in states:
        status = STALE
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


def _next_action(result: GateResult) -> list[tuple[str, str]]:
    gate = result.gate
    if result.status == READY_FOR_REVIEW and gate.decided_by is not None:
        return [(gate.decided_by.value, f"Review the evidence and decide gate {gate.number}: {gate.title}.")]
    if result.status == REJECTED and gate.decided_by is not None and result.latest_decision is not None:
        return [
            (gate.action_owner, f"Address the rejection of gate {gate.number} ({gate.title}) and ask for a new review.")
        ]
    actions = []
    for requirement in result.requirements:
        if requirement.state in (MISSING, STALE, REJECTED):
            owner = requirement.requirement.owner or gate.action_owner
            text = requirement.requirement.action
            if requirement.state == STALE:
                text = f"Refresh: {requirement.reason}. {text}"
            actions.append((owner, text))
    return actions


def evaluate(tenant: Tenant | TenantData, stage: str | None = None, *, now: datetime | None = None) -> Readiness:
    """Decide whether ``tenant`` may run ``stage`` (SPEC section 4).

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
        for owner, text in _next_action(result):
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


def evaluate_portfolio(tenants: QuerySet[Tenant] | None = None, *, now: datetime | None = None) -> list[Readiness]:
    """Evaluate every tenant for its requested stage, in five queries whatever their number."""
    now = now or timezone.now()
    loaded = load_tenants(tenants if tenants is not None else Tenant.objects.all(), lean=True)
    return [evaluate(data, now=now) for data in loaded]


__all__ = [
    "ACCEPTED",
    "GO",
    "HOLD",
    "MISSING",
    "READY_FOR_REVIEW",
    "REJECTED",
    "STALE",
    "GateResult",
    "Readiness",
    "RequirementResult",
    "TenantData",
    "canonical_json",
    "evaluate",
    "evaluate_portfolio",
    "load",
    "load_tenants",
    "sha256_of",
]
