"""The one write path for each launch state change (STYLE.md, conventions 1-2).

Every function is keyword-only and atomic: it locks the tenant row, checks the rules,
writes the row and its decision-log link in the same transaction. Views, admin actions,
the API and commands all call these. ``Refused`` carries the reasons a rule refused
(409 in the API); ``ValidationError`` carries field errors (400).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from launchroom import catalog, ledger
from launchroom.catalog import Role
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    GateDecision,
    GateDecisionKind,
    LaunchStage,
    MembershipRole,
    OrderForm,
    OrderFormStatus,
    Stage,
    StageChange,
    Tenant,
    TenantMembership,
)
from launchroom.readiness import Readiness, evaluate

User = AbstractBaseUser | AnonymousUser


class Refused(Exception):
    """A rule refused the change; ``reasons`` say why, in plain words."""

    def __init__(self, reasons: Sequence[str] | str):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__("; ".join(self.reasons))


class NotPermitted(Refused):
    """The acting user's role does not allow the change (403 in the API)."""


def has_role(user: Any, role: Role) -> bool:
    """Whether a staff user is in the group of ``role``. Superusers are not exempt:
    who decides a gate is a rule of the launch, not a permission bypass."""
    if not getattr(user, "is_staff", False):
        return False
    names = getattr(user, "_role_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_names = names
    return role.value in names


def membership_role(user: Any, tenant: Tenant) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return TenantMembership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def _locked(tenant: Tenant) -> Tenant:
    return Tenant.objects.select_for_update().get(pk=tenant.pk)


# Order forms ----------------------------------------------------------------------------

ORDER_FORM_SCOPE_FIELDS = (
    "requested_stage",
    "compliance_modules",
    "cohort_description",
    "cohort_size",
    "verifier_audience",
    "data_boundaries",
    "excluded_claims",
    "acceptance_language",
)


def order_form_create(*, tenant: Tenant, by: Any, **scope: Any) -> OrderForm:
    """Start the tenant's order form, or its next version, as a draft."""
    unknown = set(scope) - set(ORDER_FORM_SCOPE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        _locked(tenant)
        latest = OrderForm.objects.filter(tenant=tenant).order_by("-version").first()
        if latest is not None and not latest.is_signed:
            raise Refused(f"v{latest.version} is still {latest.get_status_display().lower()}: edit that version.")
        values = {name: getattr(latest, name) for name in ORDER_FORM_SCOPE_FIELDS} if latest else {}
        if not latest:
            values["excluded_claims"] = "\n".join(catalog.STANDING_EXCLUSIONS)
        values.update(scope)
        order_form = OrderForm(tenant=tenant, version=(latest.version + 1) if latest else 1, recorded_by=by, **values)
        order_form.full_clean()
        order_form.save()
        return order_form


def order_form_revise(*, order_form: OrderForm, by: Any, **changes: Any) -> OrderForm:
    """Change an order form's scope. A signed version is frozen, so its change becomes the
    next draft version; an unsigned version is edited in place."""
    if order_form.is_signed:
        return order_form_create(tenant=order_form.tenant, by=by, **changes)
    unknown = set(changes) - set(ORDER_FORM_SCOPE_FIELDS) - {"status"}
    if unknown:
        raise ValidationError({name: "Not an order-form scope field." for name in unknown})
    with transaction.atomic():
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} was signed meanwhile; revise it into a new version.")
        if changes.get("status") == OrderFormStatus.SIGNED:
            raise Refused("Sign an order form with its approval reference, not by editing its status.")
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
        return locked


def order_form_sign(
    *, order_form: OrderForm, approval_reference: str, signer_name: str, by: Any, signed_at: datetime | None = None
) -> OrderForm:
    """Record the customer's signature of an order-form version (gate 3)."""
    errors = {}
    if not approval_reference.strip():
        errors["approval_reference"] = "The approval reference is required to sign."
    if not signer_name.strip():
        errors["signer_name"] = "Name the customer who signed."
    if errors:
        raise ValidationError(errors)
    if not has_role(by, Role.COMMERCIAL):
        raise NotPermitted("Only the commercial owner records a signed order form.")
    with transaction.atomic():
        _locked(order_form.tenant)
        locked = OrderForm.objects.select_for_update().get(pk=order_form.pk)
        if locked.is_signed:
            raise Refused(f"v{locked.version} is already signed.")
        gaps = [
            label
            for label, value in (
                ("compliance modules", locked.compliance_modules),
                ("worker cohort", locked.cohort_description),
            )
            if not value.strip()
        ]
        if gaps:
            raise Refused(f"Fill in the {' and '.join(gaps)} before signing.")
        locked.status = OrderFormStatus.SIGNED
        locked.approval_reference = approval_reference.strip()
        locked.signer_name = signer_name.strip()
        locked.signed_at = signed_at or timezone.now()
        locked.recorded_by = by
        locked.full_clean()
        locked.save()
        return locked


# Gate decisions -------------------------------------------------------------------------


def gate_decide(*, tenant: Tenant, gate_key: str, decision: str, note: str, by: Any) -> GateDecision:
    """Record an owner's decision on an evidence gate (SPEC section 4).

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
        tenant = _locked(tenant)
        if decision == GateDecisionKind.ACCEPTED:
            result = evaluate(tenant).gate(gate_key)
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
        ledger.append(row)
        return row


# Stage moves ----------------------------------------------------------------------------


def stage_move(*, tenant: Tenant, to_stage: str, reason: str, by: Any) -> StageChange:
    """Move a tenant to another stage (SPEC section 2), recording the readiness it rested on."""
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": f"Choose one of {', '.join(Stage.values)}."})
    if not has_role(by, Role.OPERATOR):
        raise NotPermitted("Only an operator moves a tenant's stage.")
    with transaction.atomic():
        tenant = _locked(tenant)
        if tenant.stage == to_stage:
            raise Refused(f"{tenant} is already in {Stage(to_stage).label.lower()}.")
        if tenant.stage == Stage.ENDED:
            raise Refused(f"{tenant} has ended; an ended launch is not restarted.")
        readiness = evaluate(tenant, to_stage if to_stage in LaunchStage.values else None)
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
        ledger.append(row)
        return row


# Customer acceptance --------------------------------------------------------------------

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
        return row
