"""The two-party go/no-go (docs/RULES.md 5.9): a Thesmios operator countersigns, or declines,
the buyer's acceptance. Gate 9's owner line is "Buyer sponsor and Thesmios operator".

``acceptance_countersign`` and ``acceptance_countersign_decline`` are the one write path (the
admin's countersign page and the API call them); each writes an append-only
``AcceptanceCountersignature``, chained in the decision log, under the tenant lock.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import hooks
from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from core.types import User
from core.validation import text_errors
from launchroom.acceptance.serializers import utc_iso
from launchroom.catalog import Role
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceDecision,
    AcceptanceRecord,
    CountersignKind,
    LaunchStage,
)
from launchroom.notifications.countersign_events import countersign_answered
from launchroom.readiness.evaluation import Readiness, evaluate
from launchroom.readiness.selectors import load
from launchroom.tenants.locking import lock_tenant
from launchroom.tenants.services import has_role

SIGNING_DECISIONS = (AcceptanceDecision.ACCEPTED, AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS)
# A transition's cause names the service (launchroom/room/transitions.py words it for the buyer).
SERVICE_NAMES = {
    CountersignKind.COUNTERSIGNED: "acceptance_countersign",
    CountersignKind.DECLINED: "acceptance_countersign_decline",
}


class ReadinessChangedSinceSigning(Refused):
    """The readiness the buyer signed is not today's: the buyer signs again."""


def check_countersigner(*, user: User, record: AcceptanceRecord) -> None:
    """Who may countersign or decline ``record``: a member of the Operator group (a superuser
    outside it is refused like anyone else) who did not record it. Raises ``NotPermitted``."""
    if not has_role(user, Role.OPERATOR):
        raise NotPermitted("Only a member of the Operator group countersigns a buyer's acceptance.")
    if record.recorded_by_id == user.pk:
        raise NotPermitted("You recorded this acceptance yourself: another operator countersigns it.")


def may_countersign(*, user: User, record: AcceptanceRecord) -> bool:
    try:
        check_countersigner(user=user, record=record)
    except NotPermitted:
        return False
    return True


def changes_since_signing(record: AcceptanceRecord, readiness: Readiness) -> list[str]:
    """What differs between what the buyer signed and now: the status of every gate but 9,
    the stage and the signed order-form version. [] when nothing did."""
    signed = record.snapshot or {}
    changes = []
    if signed.get("stage") != readiness.stage or record.stage != readiness.stage:
        changes.append(f"The stage: {signed.get('stage')} then, {readiness.stage} now.")
    signed_form = record.order_form
    now_form = readiness.data.signed_order_form
    if (signed_form.pk if signed_form else None) != (now_form.pk if now_form else None):
        then = f"v{signed_form.version}" if signed_form else "none"
        now = f"v{now_form.version}" if now_form else "none"
        changes.append(f"The signed order form: {then} then, {now} now.")
    before = {g["key"]: g["status"] for g in signed.get("gates", [])}
    for gate in readiness.gates:
        if gate.gate.key == "customer-acceptance":
            continue
        if before.get(gate.gate.key) != gate.status:
            then = (before.get(gate.gate.key) or "not recorded").replace("_", " ")
            today = gate.status_label.lower()
            changes.append(f"Gate {gate.gate.number} ({gate.gate.title}): {then} then, {today} now.")
    return changes


def _answerable(record: AcceptanceRecord) -> list[str]:
    """Why ``record`` cannot be countersigned or declined (read under the tenant lock), or []."""
    stage = LaunchStage(record.stage).label.lower()
    if record.decision not in SIGNING_DECISIONS:
        return [f"A {record.get_decision_display().lower()} record needs no countersignature: it already holds."]
    if not record.countersign_required:
        return ["This record was signed before countersignatures were required: it needs none."]
    if AcceptanceRecord.objects.filter(supersedes=record).exists():
        return [f"A newer acceptance for {stage} superseded this record: answer the current one."]
    answer = AcceptanceCountersignature.objects.filter(record=record).select_related("operator").first()
    if answer is not None:
        return [f"{answer.operator_name} already {answer.get_kind_display().lower()} this acceptance."]
    return []


def _operator_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _answer(*, record: AcceptanceRecord, by: User, kind: str, note: str) -> AcceptanceCountersignature:
    errors = text_errors(AcceptanceCountersignature, {"note": note})
    if kind == CountersignKind.DECLINED and not note.strip() and "note" not in errors:
        errors["note"] = ["Say why you decline: the buyer sponsor reads it."]
    if errors:
        raise ValidationError(errors)
    check_countersigner(user=by, record=record)
    with transaction.atomic():
        tenant = lock_tenant(record.tenant)
        reasons = _answerable(record)
        if reasons:
            raise Refused(reasons)
        service = (
            "acceptance_countersign" if kind == CountersignKind.COUNTERSIGNED else "acceptance_countersign_decline"
        )
        cause = f"{service}: the operator {kind} the buyer's {record.decision} for {record.stage}"
        if kind == CountersignKind.COUNTERSIGNED:
            readiness = evaluate(load(tenant, with_output=False), record.stage)
            changed = changes_since_signing(record, readiness)
            if changed:
                raise ReadinessChangedSinceSigning(
                    ["Readiness changed since the buyer signed; the buyer signs again.", *changed]
                )
        try:
            with transaction.atomic():
                row = AcceptanceCountersignature.objects.create(
                    tenant=tenant,
                    record=record,
                    kind=kind,
                    operator=by,
                    operator_name=_operator_name(by),
                    operator_role=Role.OPERATOR.value,
                    signed_at=timezone.now(),
                    snapshot_sha256=record.snapshot_sha256,
                    note=note.strip(),
                )
        except IntegrityError:
            raise Refused("Another operator answered this acceptance at the same moment.") from None
        hooks.decision_recorded(row)
        hooks.readiness_may_change(tenant_id=tenant.pk, cause=cause, actor=by)
        countersign_answered(row)
        return row


@hooks.changes_launch_room
@records_actor()
@audited("acceptance_countersign")
def acceptance_countersign(*, record: AcceptanceRecord, by: User, note: str = "") -> AcceptanceCountersignature:
    """The operator countersigns the buyer's acceptance: gate 9 is met (docs/RULES.md 5.9).

    Refused (``ReadinessChangedSinceSigning``, naming what changed) when the status of a gate
    but 9, the stage or the signed order-form version differs from what the buyer signed."""
    return _answer(record=record, by=by, kind=CountersignKind.COUNTERSIGNED, note=note)


@hooks.changes_launch_room
@records_actor()
@audited("acceptance_countersign")
def acceptance_countersign_decline(*, record: AcceptanceRecord, by: User, note: str) -> AcceptanceCountersignature:
    """The operator declines to countersign, with a reason: gate 9 stays unmet and the buyer
    sponsor is told; their next signature supersedes the declined record."""
    return _answer(record=record, by=by, kind=CountersignKind.DECLINED, note=note)


def awaiting_countersignature() -> QuerySet[AcceptanceRecord]:
    """Every current ``accepted`` or ``accepted_with_exclusions`` record that still waits for an
    operator's answer, oldest first (records signed before the rule wait for none)."""
    return (
        AcceptanceRecord.objects.filter(
            decision__in=SIGNING_DECISIONS,
            countersign_required=True,
            countersignature__isnull=True,
            superseded_by__isnull=True,
        )
        .select_related("tenant", "recorded_by")
        .defer("snapshot")
        .order_by("signed_at", "id")
    )


def countersign_state(record: AcceptanceRecord) -> dict[str, Any] | None:
    """The operator's side of a record as the certificate and the packet state it, from a
    record loaded by ``readiness.selectors`` (its ``countersign_*`` annotations); None for a
    deferred, rejected or withdrawn record, which needs no countersignature."""
    if record.decision not in SIGNING_DECISIONS:
        return None
    kind = getattr(record, "countersign_kind", None)
    state: dict[str, Any] = {
        "state": kind or "awaiting countersignature",
        "operator_name": getattr(record, "countersign_name", None),
        "operator_role": getattr(record, "countersign_role", None),
        "signed_at": utc_iso(getattr(record, "countersign_at", None)),
        "note": getattr(record, "countersign_note", None),
        "snapshot_sha256": record.snapshot_sha256,
    }
    if not record.countersign_required:
        state["state"] = "not required"
        state["statement"] = "Signed before countersignatures were required: gate 9 is met without one."
    elif kind == CountersignKind.COUNTERSIGNED:
        state["statement"] = (
            f"Countersigned by {state['operator_name']} ({state['operator_role']}): both parties signed the "
            "snapshot below."
        )
    elif kind == CountersignKind.DECLINED:
        state["statement"] = f"The operator {state['operator_name']} declined to countersign: {state['note']}"
    else:
        state["statement"] = (
            "Awaiting countersignature: the buyer signed; a Thesmios operator has not countersigned yet."
        )
    return state


def countersignature_json(row: AcceptanceCountersignature) -> dict[str, Any]:
    """The public shape of a countersignature (the API's answer)."""
    return {
        "id": row.pk,
        "acceptance": row.record_id,
        "kind": row.kind,
        "operator_name": row.operator_name,
        "operator_role": row.operator_role,
        "signed_at": utc_iso(row.signed_at),
        "snapshot_sha256": row.snapshot_sha256,
        "note": row.note,
    }
