"""The one write path for each launch state change (STYLE.md, conventions 1-2).

Every function is keyword-only and atomic: it locks the tenant row, checks the rules,
writes the row and its decision-log link in the same transaction. Views, admin actions,
the API and commands all call these. ``Refused`` carries the reasons a rule refused
(409 in the API); ``ValidationError`` carries field errors (400).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from core.types import User
from launchroom import catalog
from launchroom.catalog import Role
from launchroom.models import (
    GateDecision,
    GateDecisionKind,
    LaunchStage,
    Stage,
    StageChange,
    Tenant,
)
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from launchroom.tenants.locking import lock_tenant
from launchroom.tenants.services import has_role

# Order forms ----------------------------------------------------------------------------


# Gate decisions -------------------------------------------------------------------------


@hooks.changes_launch_room
@records_actor()
@audited("gate_decision")
def gate_decide(*, tenant: Tenant, gate_key: str, decision: str, note: str, by: User) -> GateDecision:
    """Record an owner's decision on an evidence gate (docs/RULES.md section 4).

    Accepting is refused while a requirement is unmet, and to the person who uploaded by
    hand evidence the gate rests on.
    """
    gate = catalog.GATES_BY_KEY.get(gate_key)
    if gate is None:
        raise ValidationError({"gate_key": f"No gate {gate_key!r}."})
    if decision not in GateDecisionKind.values:
        raise ValidationError({"decision": f"Choose one of {', '.join(GateDecisionKind.values)}."})
    if not note.strip():
        raise ValidationError({"note": "A decision needs a note."})
    if gate.decided_by is None:
        raise Refused(f"Gate {gate.number} ({gate.title}) is a record gate: its record is the decision.")
    if not has_role(by, gate.decided_by):
        raise NotPermitted(f"Gate {gate.number} ({gate.title}) is decided by the {gate.decided_by.value.lower()}.")
    with transaction.atomic():
        tenant = lock_tenant(tenant)
        if decision == GateDecisionKind.ACCEPTED:
            # Readiness never reads pasted output: leave it in the database.
            result = evaluate(load(tenant, with_output=False)).gate(gate_key)
            unmet = [r.reason for r in result.requirements if not r.met]
            if unmet:
                raise Refused([f"Cannot accept gate {gate.number}: {reason}." for reason in unmet])
            own = [
                r.attachment
                for r in result.requirements
                if r.attachment is not None
                and not r.attachment.produced_by_command
                and r.attachment.uploaded_by_id == by.pk
            ]
            if own:
                raise Refused(
                    [
                        f"You uploaded the {r.requirement_key} evidence yourself: another "
                        f"{gate.decided_by.value.lower()} must accept it."
                        for r in own
                    ]
                )
        row = GateDecision.objects.create(
            tenant=tenant,
            gate_key=gate_key,
            decision=decision,
            note=note.strip(),
            decided_by=by,
            decided_at=timezone.now(),
        )
        hooks.decision_recorded(row)
        hooks.readiness_may_change(
            tenant_id=tenant.pk, cause=f"gate_decide: {decision} gate {gate.number} ({gate.title})", actor=by
        )
        return row


# Stage moves ----------------------------------------------------------------------------


@hooks.changes_launch_room
@records_actor()
@audited("stage_move")
def stage_move(*, tenant: Tenant, to_stage: str, reason: str, by: User) -> StageChange:
    """Move a tenant to another stage (docs/RULES.md section 2), recording the readiness it rested on."""
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"Choose one of {', '.join(Stage.values)}."})
    if not has_role(by, Role.OPERATOR):
        raise NotPermitted("Only an operator moves a tenant's stage.")
    with transaction.atomic():
        tenant = lock_tenant(tenant)
        if tenant.stage == to_stage:
            raise Refused(f"{tenant} is already in {Stage(to_stage).label.lower()}.")
        if tenant.stage == Stage.ENDED:
            raise Refused(f"{tenant} has ended; an ended launch is not restarted.")
        readiness = evaluate(load(tenant, with_output=False), to_stage if to_stage in LaunchStage.values else None)
        if to_stage in LaunchStage.values:
            if not readiness.is_go:
                raise Refused(
                    [f"{tenant} is on hold for {LaunchStage(to_stage).label.lower()}.", *readiness.hold_reasons]
                )
        elif not reason.strip():
            raise ValidationError({"reason": f"Say why the tenant is moving to {Stage(to_stage).label.lower()}."})
        row = StageChange.objects.create(
            tenant=tenant,
            from_stage=tenant.stage,
            to_stage=to_stage,
            reason=reason.strip(),
            changed_by=by,
            changed_at=timezone.now(),
            snapshot_sha256=readiness.snapshot_sha256(),
        )
        tenant.stage = to_stage
        tenant.save(update_fields=["stage", "updated_at"])
        hooks.decision_recorded(row)
        hooks.readiness_may_change(
            tenant_id=tenant.pk, cause=f"stage_move: {row.from_stage} to {row.to_stage}", actor=by
        )
        return row


# Customer acceptance --------------------------------------------------------------------
