"""A readiness transition in the buyer's words: the one wording the launch room
(``room/transitions.py``) and the transitions API (``readiness_api.py``) give a buyer.

Why it changed is said as the buyer would say it, and who acted as a role title ("Thesmios
operator", "Buyer sponsor"): staff usernames and service names stay out of what a buyer reads
(docs/RULES.md section 11.2).
"""

from __future__ import annotations

from core.history import SYSTEM_USERNAME
from core.types import User
from launchroom.catalog import Role
from launchroom.models import LaunchStage, MembershipRole, ReadinessTransition
from launchroom.readiness.evaluation import STATUS_LABELS

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
UNKNOWN_CAUSE = "Something your launch rests on changed"
# Who acted, when no person did (a scheduled refresh, a proof command) or the role is not known.
SYSTEM_ACTOR = "Thesmios (automated)"
STAFF_ACTOR = "Thesmios staff"
MEMBER_ACTOR = "Your team"


def stage_words(stage: str) -> str:
    return LaunchStage(stage).label.lower() if stage in LaunchStage.values else stage.replace("_", " ")


def headline(row: ReadinessTransition) -> str:
    stage = stage_words(row.stage)
    if not row.decision_before:
        words = "ready (go)" if row.decision_after == "go" else "on hold"
        return f"Readiness first assessed: {words} for the {stage}"
    if row.decision_before != row.decision_after:
        if row.decision_after == "go":
            return f"Your launch became ready (go) for the {stage}"
        return f"Your launch went on hold for the {stage}"
    if row.running_before != row.running_after and row.running_stage:
        running = stage_words(row.running_stage)
        if not row.running_before:
            return f"Your {running} started"
        if row.running_after == "hold":
            return f"Your running {running} fell to hold"
        return f"Your running {running} is ready again"
    return f"A launch gate changed; the decision for the {stage} stays {row.decision_after}"


def why(row: ReadinessTransition) -> str:
    base = CAUSES.get(row.cause_kind, UNKNOWN_CAUSE)
    if row.cause_kind == "time":
        detail = row.cause.split(":", 1)[1].strip() if ":" in row.cause else ""
        return f"{base}: {detail}" if detail and detail != "re-evaluated" else base
    return base


def gate_lines(row: ReadinessTransition) -> list[str]:
    lines = []
    for g in row.gates_changed:
        after = STATUS_LABELS.get(g["after"], g["after"]).lower()
        if g["before"]:
            before = STATUS_LABELS.get(g["before"], g["before"]).lower()
            lines.append(f"Gate {g['number']} ({g['title']}): now {after}, was {before}")
        else:
            lines.append(f"Gate {g['number']} ({g['title']}): {after}")
    return lines


def actor_title(actor: User | None, member_role: str | None) -> str:
    """Who acted, as a role title: the staff role ("Thesmios operator"), the buyer's role in
    the tenant ("Buyer sponsor", ``member_role``), or Thesmios itself when no person acted.
    Read ``actor``'s groups with ``prefetch_related("actor__groups")``."""
    if actor is None or actor.get_username() == SYSTEM_USERNAME:
        return SYSTEM_ACTOR
    if actor.is_staff:
        names = {group.name for group in actor.groups.all()}
        for role in Role:
            if role.value in names:
                return f"Thesmios {role.value.lower()}"
        return STAFF_ACTOR
    if member_role in MembershipRole.values:
        return str(MembershipRole(member_role).label)
    return MEMBER_ACTOR
