"""Customer acceptance (docs/RULES.md section 5): the buyer's decision, checked under the tenant lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from core.types import User
from core.validation import text_errors
from evidence.models import EvidenceAttachment
from launchroom.catalog import Role
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    CountersignKind,
    LaunchStage,
    Tenant,
)
from launchroom.notifications.events import acceptance_decided
from launchroom.readiness.evaluation import Readiness, evaluate
from launchroom.readiness.selectors import load
from launchroom.tenants.access import SIGNING_ROLES, member_role
from launchroom.tenants.locking import lock_tenant
from launchroom.tenants.services import has_role

AFFIRMATION = (
    "I am authorised to sign for my organisation. I have read the readiness snapshot above, and I accept the "
    "launch for this stage with the exclusions and residual risks listed, and nothing more."
)


def acceptance_rules(readiness: Readiness, decision: str, exclusions: Sequence[str]) -> list[str]:
    """The reasons docs/RULES.md section 5 refuses a decision for this readiness, or []."""
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


class AcceptanceRefused(Refused):
    """A refusal of ``acceptance_sign`` under the lock; ``readiness`` is what it was checked
    against, so a page that shows the refusal need not load and evaluate the tenant again."""

    def __init__(self, reasons: Sequence[str] | str, *, readiness: Readiness):
        super().__init__(reasons)
        self.readiness = readiness


class SnapshotChanged(AcceptanceRefused):
    """The readiness changed after the signer saw it: they review the new one and sign again."""

    def __init__(self, *, readiness: Readiness):
        super().__init__(
            "The readiness changed while this page was open. Review it below, then sign again.", readiness=readiness
        )
        self.current_sha256 = readiness.acceptance_snapshot_sha256()


def check_signer(*, user: User, role: str | None, on_written_approval: bool) -> None:
    """Who may record an acceptance (docs/RULES.md section 5): the tenant's buyer sponsor for
    themselves, or a commercial owner on a buyer's written approval. Recording the buyer's
    written approval is a rule of the launch, not a permission (docs/RULES.md section 1.3):
    a superuser outside the Commercial owner group is refused like anyone else.

    ``role`` is the user's membership role in the tenant (``tenants.access.tenant_for_user``
    gives it). Raises ``NotPermitted``; the surfaces call it first so that a 403 comes
    before their own checks of the request, and ``acceptance_sign`` calls it again.
    """
    if on_written_approval:
        if not has_role(user, Role.COMMERCIAL):
            raise NotPermitted("Only a commercial owner records a buyer's written approval.")
        return
    if user.is_staff and role is None:
        raise NotPermitted(
            "Staff record a buyer's written approval: send on_written_approval: true and the buyer's signer_email."
        )
    if role not in SIGNING_ROLES:
        raise NotPermitted("Only the tenant's buyer sponsor signs the acceptance record.")


def may_sign(*, user: User, role: str | None) -> bool:
    """Whether the launch room offers ``user`` the signature form (``check_signer``'s rule)."""
    try:
        check_signer(user=user, role=role, on_written_approval=False)
    except NotPermitted:
        return False
    return True


def acceptance_field_errors(
    *,
    tenant: Tenant,
    stage: str,
    decision: str,
    signer_name: str,
    signer_role: str,
    exclusions: Sequence[str] = (),
    residual_risks: Sequence[str] = (),
    approval_reference: str = "",
    note: str = "",
    affirmation: str = "",
    on_written_approval: bool = False,
    signer_email: str = "",
    seen_evidence: Sequence[tuple[int, str | None]] = (),
) -> dict[str, list[str]]:
    """Every field error of an acceptance decision, by field ({} when every field is right):
    text that cannot be stored, the field rules of docs/RULES.md section 5, and evidence the
    signer refers to that is not the tenant's. At most one query (with ``seen_evidence``).

    ``acceptance_sign`` raises them as one ``ValidationError``; the API, when the JSON body
    has shape errors of its own, adds these to them so a client sees every error at once.
    """
    errors = text_errors(
        AcceptanceRecord,
        {
            "stage": stage,
            "decision": decision,
            "signer_name": signer_name,
            "signer_role": signer_role,
            "signer_email": signer_email,
            "approval_reference": approval_reference,
            "note": note,
            "affirmation": affirmation,
            "exclusions": list(exclusions),
            "residual_risks": list(residual_risks),
        },
    )

    def add(name: str, message: str) -> None:
        errors.setdefault(name, [message])  # one error a field: the text's before the rule's

    if on_written_approval:
        try:
            validate_email(signer_email.strip())
        except ValidationError:
            add("signer_email", "Give the e-mail address of the buyer whose written approval this is.")
    if stage not in LaunchStage.values:
        add("stage", f"Choose one of {', '.join(LaunchStage.values)}.")
    if decision not in AcceptanceDecision.values:
        add("decision", f"Choose one of {', '.join(AcceptanceDecision.values)}.")
    if not signer_name.strip():
        add("signer_name", "Type your full name as your signature.")
    if not signer_role.strip():
        add("signer_role", "Give the signer's role.")
    gave_reason = any(r and r.strip() for r in residual_risks) or note.strip()
    if decision in (AcceptanceDecision.DEFERRED, AcceptanceDecision.REJECTED) and not gave_reason:
        add("note", "Say why: give the residual risks or a note.")
    if seen_evidence:
        ids = [pk for pk, _sha in seen_evidence]
        known = set(EvidenceAttachment.objects.filter(tenant=tenant, pk__in=ids).values_list("pk", flat=True))
        for pk in ids:
            if pk not in known:
                errors.setdefault("evidence_references", []).append(f"No evidence {pk} in this tenant's launch room.")
    return errors


def _evidence_conflicts(seen: Sequence[tuple[int, str | None]], current: list[dict[str, Any]]) -> list[str]:
    """Why the evidence the signer says they saw is not the evidence the decision rests on."""
    by_id = {ref["id"]: ref["sha256"] for ref in current}
    reasons = []
    for pk, sha in seen:
        if pk not in by_id:
            reasons.append(f"Evidence {pk} is not part of the readiness this decision rests on (it was replaced).")
        elif sha and sha != by_id[pk]:
            reasons.append(f"Evidence {pk} does not have the SHA-256 {sha}.")
    return reasons


def _repeats(
    record: AcceptanceRecord | None, *, by: User, on_written_approval: bool, fields: dict[str, Any], snapshot: str
) -> bool:
    """Whether a request repeats the current record exactly (an automation retry, a double submit)."""
    if record is None or getattr(record, "countersign_kind", None) == CountersignKind.DECLINED:
        return False  # signing again after the operator declined is a new record (docs/RULES.md 5.9)
    actor = record.recorded_by_id if on_written_approval else record.signer_id
    return (
        actor == by.pk
        and record.on_written_approval == on_written_approval
        and record.snapshot_sha256 == snapshot
        and all(getattr(record, name) == value for name, value in fields.items())
    )


@hooks.changes_launch_room
@records_actor("recorded_by")
@audited("acceptance_decision")
def acceptance_sign(
    *,
    tenant: Tenant,
    stage: str,
    decision: str,
    signer_name: str,
    signer_role: str,
    recorded_by: User,
    exclusions: Sequence[str] = (),
    residual_risks: Sequence[str] = (),
    approval_reference: str = "",
    note: str = "",
    affirmation: str = "",
    client_address: str | None = None,
    user_agent: str = "",
    on_written_approval: bool = False,
    signer_email: str = "",
    seen_snapshot_sha256: str | None = None,
    seen_evidence: Sequence[tuple[int, str | None]] = (),
) -> AcceptanceRecord:
    """Record the buyer's decision for a tenant and stage (docs/RULES.md section 5).

    The buyer sponsor signs for themselves; staff with the permission record a buyer's
    written approval (``on_written_approval``), and the record says so.

    Under the tenant lock: the signer signs what they saw (``seen_snapshot_sha256``, the
    acceptance snapshot's SHA-256 their page showed, and ``seen_evidence``, the (id, sha256
    or None) pairs of the evidence they refer to; ``SnapshotChanged`` or ``AcceptanceRefused``
    otherwise), and a request that repeats the current record exactly saves nothing and
    returns that record with ``repeated = True`` (so two identical concurrent requests leave
    one record).
    """
    role = None if on_written_approval else member_role(recorded_by, tenant)
    check_signer(user=recorded_by, role=role, on_written_approval=on_written_approval)
    errors = acceptance_field_errors(
        tenant=tenant,
        stage=stage,
        decision=decision,
        signer_name=signer_name,
        signer_role=signer_role,
        exclusions=exclusions,
        residual_risks=residual_risks,
        approval_reference=approval_reference,
        note=note,
        affirmation=affirmation,
        on_written_approval=on_written_approval,
        signer_email=signer_email,
        seen_evidence=seen_evidence,
    )
    if errors:
        raise ValidationError(errors)
    signer = None if on_written_approval else recorded_by
    email = signer_email.strip() if on_written_approval else recorded_by.email
    exclusions = [e.strip() for e in exclusions if e and e.strip()]
    residual_risks = [r.strip() for r in residual_risks if r and r.strip()]

    with transaction.atomic():
        tenant = lock_tenant(tenant)
        # Readiness never reads pasted output: leave it in the database.
        readiness = evaluate(load(tenant, with_output=False), stage)
        snapshot_sha256 = readiness.acceptance_snapshot_sha256()
        if seen_snapshot_sha256 is not None and seen_snapshot_sha256 != snapshot_sha256:
            raise SnapshotChanged(readiness=readiness)
        conflicts = _evidence_conflicts(seen_evidence, readiness.evidence_references())
        if conflicts:
            raise AcceptanceRefused(conflicts, readiness=readiness)
        current = readiness.data.current_acceptance(stage)
        fields = {
            "decision": decision,
            "signer_name": signer_name.strip(),
            "signer_role": signer_role.strip(),
            "signer_email": email,
            "exclusions": exclusions,
            "residual_risks": residual_risks,
            "note": note.strip(),
        }
        if _repeats(
            current, by=recorded_by, on_written_approval=on_written_approval, fields=fields, snapshot=snapshot_sha256
        ):
            assert current is not None
            current.repeated = True  # type: ignore[attr-defined]  # a flag for the caller, not a field
            return current
        order_form = readiness.data.signed_order_form
        reasons = []
        if order_form is None:
            reasons.append("There is no signed order form: the commercial owner records it first.")
        elif approval_reference.strip() and approval_reference.strip() != order_form.approval_reference:
            reasons.append(
                f"The approval reference {approval_reference.strip()!r} is not the signed order form's "
                f"({order_form.approval_reference})."
            )
        if decision == AcceptanceDecision.SUPERSEDED and (
            current is None or current.decision == AcceptanceDecision.SUPERSEDED
        ):
            reasons.append("There is no current acceptance record to withdraw.")
        reasons += acceptance_rules(readiness, decision, exclusions)
        if reasons:
            raise AcceptanceRefused(reasons, readiness=readiness)
        assert order_form is not None
        try:
            with transaction.atomic():
                row = AcceptanceRecord.objects.create(
                    tenant=tenant,
                    stage=stage,
                    **fields,
                    signer=signer,
                    recorded_by=recorded_by,
                    on_written_approval=on_written_approval,
                    approval_reference=order_form.approval_reference,
                    evidence_references=readiness.evidence_references(),
                    order_form=order_form,
                    signed_at=timezone.now(),
                    client_address=client_address or None,
                    user_agent=user_agent[:500],
                    affirmation=affirmation,
                    snapshot=readiness.acceptance_snapshot(),
                    snapshot_sha256=snapshot_sha256,
                    supersedes=current,
                )
        except IntegrityError:
            raise AcceptanceRefused(
                "Another acceptance was recorded for this stage at the same moment; reload and sign again.",
                readiness=readiness,
            ) from None
        hooks.decision_recorded(row)
        hooks.readiness_may_change(
            tenant_id=tenant.pk, cause=f"acceptance_sign: {decision} for {stage}", actor=recorded_by
        )
        acceptance_decided(row)
        return row
