"""The launch room's "how your readiness changed": the tenant's transitions, in the buyer's words.

Only the room of the tenant being viewed calls this (``tenant_for_user`` has already checked
membership), so a buyer sees their own tenant's transitions and no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from launchroom.models import LaunchStage, ReadinessTransition, Tenant
from launchroom.readiness.evaluation import STATUS_LABELS

SHOWN = 50

# Why it changed, as the buyer would say it; staff usernames stay out of the room.
CAUSES = {
    "time": "Evidence reached its freshness limit",
    "gate_decide": "Thesmios reviewed a gate",
    "stage_move": "Thesmios moved your launch to another stage",
    "acceptance_sign": "Your acceptance decision was recorded",
    "acceptance_countersign": "Thesmios countersigned your acceptance",
    "acceptance_countersign_decline": "Thesmios declined to countersign your acceptance",
    "evidence_attach": "Thesmios added evidence",
    "evidence_verify": "Thesmios re-checked the integrity of evidence",
    "order_form_create": "A new order-form version was drafted",
    "order_form_revise": "The order form was changed",
    "order_form_sign": "The order form was signed",
    "billing_fallback_accept": "Your side accepted the manual billing fallback",
    "billing_profile_save": "The billing terms were updated",
    "support_plan_save": "Your support plan was updated",
    "tenant_create": "Your launch was set up",
    "tenant_update": "Your launch's record was updated",
    "refresh_readiness": "Readiness was re-assessed",
}


def _stage(stage: str) -> str:
    return LaunchStage(stage).label.lower() if stage in LaunchStage.values else stage.replace("_", " ")


@dataclass
class TransitionRow:
    when: datetime
    headline: str
    decision: str
    why: str
    gates: list[str]


def _headline(row: ReadinessTransition) -> str:
    stage = _stage(row.stage)
    if not row.decision_before:
        words = "ready (go)" if row.decision_after == "go" else "on hold"
        return f"Readiness first assessed: {words} for the {stage}"
    if row.decision_before != row.decision_after:
        if row.decision_after == "go":
            return f"Your launch became ready (go) for the {stage}"
        return f"Your launch went on hold for the {stage}"
    if row.running_before != row.running_after and row.running_stage:
        running = _stage(row.running_stage)
        if not row.running_before:
            return f"Your {running} started"
        if row.running_after == "hold":
            return f"Your running {running} fell to hold"
        return f"Your running {running} is ready again"
    return f"A launch gate changed; the decision for the {stage} stays {row.decision_after}"


def _why(row: ReadinessTransition) -> str:
    base = CAUSES.get(row.cause_kind, "Something your launch rests on changed")
    if row.cause_kind == "time":
        detail = row.cause.split(":", 1)[1].strip() if ":" in row.cause else ""
        return f"{base}: {detail}" if detail and detail != "re-evaluated" else base
    return base


def _gates(row: ReadinessTransition) -> list[str]:
    lines = []
    for g in row.gates_changed:
        after = STATUS_LABELS.get(g["after"], g["after"]).lower()
        if g["before"]:
            before = STATUS_LABELS.get(g["before"], g["before"]).lower()
            lines.append(f"Gate {g['number']} ({g['title']}): now {after}, was {before}")
        else:
            lines.append(f"Gate {g['number']} ({g['title']}): {after}")
    return lines


def timeline_rows(tenant: Tenant, limit: int = SHOWN) -> list[TransitionRow]:
    """The newest transitions of this tenant, in the buyer's words (one query)."""
    rows = ReadinessTransition.objects.filter(tenant=tenant).order_by("-at", "-id")[:limit]
    return [
        TransitionRow(when=r.at, headline=_headline(r), decision=r.decision_after, why=_why(r), gates=_gates(r))
        for r in rows
    ]
