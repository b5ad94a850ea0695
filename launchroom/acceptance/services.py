"""Customer acceptance (SPEC section 5): the buyer's decision, checked under the tenant lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import NotPermitted, Refused
from launchroom.gates import ledger
from launchroom.gates.readiness import Readiness, evaluate
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    LaunchStage,
    MembershipRole,
    Tenant,
)
from launchroom.notifications.events import acceptance_decided
from launchroom.tenants.services import _locked, membership_role

AFFIRMATION = (
    "I am authorised to sign for my organisation. I have read the readiness snapshot above, and I accept the "
    "launch for this stage with the exclusions and residual risks listed, and nothing more."
)


def acceptance_rules(readiness: Readiness, decision: str, exclusions: Sequence[str]) -> list[str]:
    """The reasons SPEC section 5 refuses a decision for this readiness, or []."""
    reasons = []
    others = [g for g in readiness.gates if g.gate.key != "customer-acceptance" and g.in_force]
    if decision == AcceptanceDecision.ACCEPTED:
        for g in others:
            reasons.append(f"Gate {g.gate.number} ({g.gate.title}) is {g.status_label.lower()}: {g.gate.if_missing}")
    elif decision == AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS:
        for g in others:
            if g.blocks:
                reasons.append(
                    f"Gate {g.gate.number} ({g.gate.title}) is {g.status_label.lower()}: {g.gate.if_missing}"
                )
    if decision in (AcceptanceDecision.ACCEPTED, AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS):
        listed = {e.strip().casefold() for e in exclusions}
        for claim in readiness.do_not_claim:
            if claim.casefold() not in listed:
                reasons.append(f'The exclusions must list "{claim}".')
    return reasons


def acceptance_sign(
    *,
    tenant: Tenant,
    stage: str,
    decision: str,
    signer_name: str,
    signer_role: str,
    recorded_by: Any,
    exclusions: Sequence[str] = (),
    residual_risks: Sequence[str] = (),
    approval_reference: str = "",
    note: str = "",
    affirmation: str = "",
    client_address: str | None = None,
    user_agent: str = "",
    on_written_approval: bool = False,
    signer_email: str = "",
) -> AcceptanceRecord:
    """Record the buyer's decision for a tenant and stage (SPEC section 5).

    The buyer sponsor signs for themselves; staff with the permission record a buyer's
    written approval (``on_written_approval``), and the record says so.
    """
    if on_written_approval:
        if not (recorded_by.is_staff and recorded_by.has_perm("launchroom.add_acceptancerecord")):
            raise NotPermitted("Only staff with the permission record a buyer's written approval.")
        signer = None
        email = signer_email.strip()
    else:
        if membership_role(recorded_by, tenant) != MembershipRole.BUYER_SPONSOR:
            raise NotPermitted("Only the tenant's buyer sponsor signs the acceptance record.")
        signer = recorded_by
        email = recorded_by.email

    errors: dict[str, str] = {}
    if on_written_approval and not email:
        errors["signer_email"] = "Give the e-mail of the buyer whose written approval this is."
    if stage not in LaunchStage.values:
        errors["stage"] = f"Choose one of {', '.join(LaunchStage.values)}."
    if decision not in AcceptanceDecision.values:
        errors["decision"] = f"Choose one of {', '.join(AcceptanceDecision.values)}."
    if not signer_name.strip():
        errors["signer_name"] = "Type your full name as your signature."
    if not signer_role.strip():
        errors["signer_role"] = "Give the signer's role."
    exclusions = [e.strip() for e in exclusions if e and e.strip()]
    residual_risks = [r.strip() for r in residual_risks if r and r.strip()]
    if decision in (AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED) and not (residual_risks or note.strip()):
        errors["note"] = "Say why: give the residual risks or a note."
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        tenant = _locked(tenant)
        readiness = evaluate(tenant, stage)
        order_form = readiness.data.signed_order_form
        reasons = []
        if order_form is None:
            reasons.append("There is no signed order form: the commercial owner records it first.")
        elif approval_reference.strip() and approval_reference.strip() != order_form.approval_reference:
            reasons.append(
                f"The approval reference {approval_reference.strip()!r} is not the signed order form's "
                f"({order_form.approval_reference})."
            )
        current = readiness.data.current_acceptance(stage)
        if decision == AcceptanceDecision.SUPERSEDED and (
            current is None or current.decision == AcceptanceDecision.SUPERSEDED
        ):
            reasons.append("There is no current acceptance record to withdraw.")
        reasons += acceptance_rules(readiness, decision, exclusions)
        if reasons:
            raise Refused(reasons)
        try:
            with transaction.atomic():
                row = AcceptanceRecord.objects.create(
                    tenant=tenant,
                    stage=stage,
                    decision=decision,
                    signer_name=signer_name.strip(),
                    signer_role=signer_role.strip(),
                    signer_email=email,
                    signer=signer,
                    recorded_by=recorded_by,
                    on_written_approval=on_written_approval,
                    approval_reference=order_form.approval_reference,
                    exclusions=exclusions,
                    residual_risks=residual_risks,
                    note=note.strip(),
                    evidence_references=readiness.evidence_references(),
                    order_form=order_form,
                    signed_at=timezone.now(),
                    client_address=client_address or None,
                    user_agent=user_agent[:500],
                    affirmation=affirmation,
                    snapshot=readiness.acceptance_snapshot(),
                    snapshot_sha256=readiness.acceptance_snapshot_sha256(),
                    supersedes=current,
                )
        except IntegrityError:
            raise Refused(
                "Another acceptance was recorded for this stage at the same moment; reload and sign again."
            ) from None
        ledger.append(row)
        acceptance_decided(row)
        return row
