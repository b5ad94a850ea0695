"""What the launch room shows, shaped for its template: gate rows, the timeline, the buyer's actions.

Pure functions of a loaded ``Readiness`` (and the tenant's stage moves): nothing here queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse

from core.types import User
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.catalog import Effect
from launchroom.models import LaunchStage, Stage, StageChange
from launchroom.readiness.evaluation import MET, NOT_APPLICABLE, GateResult, Readiness, RequirementResult
from launchroom.readiness.selectors import TenantData
from launchroom.readiness.states import AWAITING_COUNTERSIGNATURE

REQUIREMENT_LABELS = {
    MET: "Met",
    NOT_APPLICABLE: "Not configured",
    "missing": "Missing",
    "stale": "Stale",
    "rejected": "Rejected",
}
# What a buyer reads once their signature is recorded and the operator's is awaited (docs/RULES.md 5.9).
COUNTERSIGN_NEXT = "A Thesmios operator countersigns your acceptance record next, or declines it with a reason."
EFFECT_WORDS = {
    Effect.HOLD: "Holds the launch until met",
    Effect.CAP: "Caps the launch at a no-charge private beta until met",
    Effect.CLAIMS: "Limits what may be claimed until met",
}


@dataclass
class RequirementRow:
    result: RequirementResult
    older: int = 0

    @property
    def label(self) -> str:
        return self.result.requirement.label

    @property
    def state(self) -> str:
        return self.result.state

    @property
    def state_label(self) -> str:
        return REQUIREMENT_LABELS.get(self.result.state, self.result.state)

    @property
    def status_class(self) -> str:
        return "met" if self.result.state == MET else self.result.state

    @property
    def attachment(self) -> EvidenceAttachment | None:
        return self.result.attachment

    @property
    def evidence_name(self) -> str:
        return self.result.attachment.short_name if self.result.attachment else ""

    @property
    def action(self) -> str:
        if self.result.state == AWAITING_COUNTERSIGNATURE:
            return COUNTERSIGN_NEXT
        return "" if self.result.met else self.result.requirement.action

    @property
    def is_attachment(self) -> bool:
        return self.result.requirement.kind == catalog.Kind.ATTACHMENT


@dataclass
class GateRow:
    result: GateResult
    requirements: list[RequirementRow]

    @property
    def gate(self) -> catalog.Gate:
        return self.result.gate

    @property
    def effect_words(self) -> str:
        return EFFECT_WORDS[self.result.effect]

    @property
    def buyer_if_missing(self) -> str:
        """The gate's "if missing" line in buyer words; once the buyer has signed and the
        operator's countersignature is awaited, what happens next instead."""
        if any(r.state == AWAITING_COUNTERSIGNATURE for r in self.requirements):
            return f"Your signature is recorded. {COUNTERSIGN_NEXT}"
        return self.gate.buyer_if_missing

    @property
    def reasons(self) -> list[str]:
        """What is still needed, each said once: two requirements can share a reason, or
        one can say more of the same ("no signed order form (v1 is draft)")."""
        unique = list(dict.fromkeys(self.result.reasons))
        return [r for r in unique if not any(o != r and o.startswith(r) for o in unique)]


@dataclass
class Event:
    when: datetime
    kind: str
    title: str
    detail: str = ""
    who: str = ""
    link: str = ""
    status: str = "neutral"
    status_label: str = ""
    extra: list[str] = field(default_factory=list)


def person(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def gate_rows(readiness: Readiness) -> list[GateRow]:
    counts = {(a.gate_key, a.requirement_key): a.same_requirement for a in readiness.data.attachments}  # type: ignore[attr-defined]  # selectors' window annotation
    rows = []
    for result in readiness.gates:
        requirements = [
            RequirementRow(r, older=max(0, counts.get((result.gate.key, r.requirement.key), 0) - 1))
            for r in result.requirements
        ]
        rows.append(GateRow(result, requirements))
    return rows


def timeline(data: TenantData, stage_changes: list[StageChange]) -> list[Event]:
    """Gate decisions, acceptance records, stage moves and order-form versions, newest first."""
    events: list[Event] = []
    superseded_by = data.superseded_by()
    for d in data.decisions:
        gate = catalog.GATES_BY_KEY.get(d.gate_key)
        title = f"Gate {gate.number}: {gate.title}" if gate else d.gate_key
        events.append(
            Event(
                d.decided_at,
                "Gate decision",
                title,
                d.note,
                person(d.decided_by),
                status=d.decision,
                status_label=d.get_decision_display(),
            )
        )
    for r in data.acceptances:
        extra = []
        if r.on_written_approval:
            extra.append("Recorded by Thesmios staff on the buyer's written approval.")
        if r.pk in superseded_by:
            extra.append(f"Superseded by record {superseded_by[r.pk].pk}.")
        events.append(
            Event(
                r.signed_at,
                "Acceptance record",
                f"{LaunchStage(r.stage).label}: {r.get_decision_display()}",
                r.note,
                f"{r.signer_name}, {r.signer_role}",
                link=reverse("launchroom:certificate", args=[data.tenant.slug, r.pk]),
                status=r.decision,
                status_label=r.get_decision_display(),
                extra=extra,
            )
        )
    for s in stage_changes:
        events.append(
            Event(
                s.changed_at,
                "Stage move",
                f"{Stage(s.from_stage).label} → {Stage(s.to_stage).label}",
                s.reason,
                person(s.changed_by),
            )
        )
    for o in data.order_forms:
        events.append(Event(o.created_at, "Order form", f"Version {o.version} drafted"))
        if o.signed_at:
            events.append(
                Event(
                    o.signed_at,
                    "Order form",
                    f"Version {o.version} signed",
                    f"Approval reference {o.approval_reference}",
                    o.signer_name,
                    status="signed",
                    status_label="Signed",
                )
            )
    billing = data.billing
    if billing is not None and billing.fallback_accepted_at:
        events.append(
            Event(
                billing.fallback_accepted_at,
                "Billing",
                "Manual billing fallback accepted",
                who=billing.fallback_accepted_name,
                status="accepted",
                status_label="Accepted",
            )
        )
    events.sort(key=lambda e: e.when, reverse=True)
    return events


def buyer_actions(readiness: Readiness, *, can_sign: bool, can_accept_billing: bool) -> list[dict[str, str]]:
    """What the buyer can do now, in their words; the staff's next steps are listed apart."""
    actions = []
    billing_gate = readiness.gate("billing-route")
    fallback = next(r for r in billing_gate.requirements if r.requirement.key == "billing-fallback-accepted")
    if not fallback.met:
        if can_accept_billing:
            actions.append({"text": "Accept the manual billing fallback for the billing terms.", "anchor": "billing"})
        elif readiness.data.billing is not None and not readiness.data.billing.missing_terms():
            actions.append(
                {
                    "text": "Your buyer sponsor or buyer finance accepts the manual billing fallback.",
                    "anchor": "billing",
                }
            )
    acceptance = readiness.gate("customer-acceptance")
    awaiting = any(r.state == AWAITING_COUNTERSIGNATURE for r in acceptance.requirements)
    if awaiting:
        # docs/RULES.md 5.9: the gate's owner line is "Buyer sponsor and Thesmios operator".
        text = (
            "Your signature is recorded. A Thesmios operator countersigns it next (gate 9 is owned by the "
            "buyer sponsor and the Thesmios operator); nothing more is needed from you unless they decline."
        )
        actions.append({"text": text, "anchor": "acceptance"})
    elif not acceptance.met:
        others_block = any(g.blocks for g in readiness.gates if g.gate.key != "customer-acceptance")
        who = "You sign" if can_sign else "Your buyer sponsor signs"
        if others_block:
            text = (
                f"{who} the acceptance record once the gates above are met. Deferring or rejecting, with a reason, "
                "can be recorded at any time."
            )
        else:
            text = f"Every other gate is met: {who.lower()} the acceptance record for this stage."
        actions.append({"text": text, "anchor": "acceptance"})
    return actions


def acceptance_initial(readiness: Readiness) -> dict[str, Any]:
    order_form = readiness.data.signed_order_form
    current = readiness.data.current_acceptance(readiness.stage)
    return {
        "stage": readiness.stage,
        "snapshot_sha256": readiness.acceptance_snapshot_sha256(),
        "approval_reference": order_form.approval_reference if order_form else "",
        "exclusions": "\n".join(readiness.do_not_claim),
        "residual_risks": "\n".join(current.residual_risks) if current else "",
    }
