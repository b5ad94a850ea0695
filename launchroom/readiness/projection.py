"""Stored readiness: each tenant's ``evaluate()`` kept as a row, and every change of it recorded.

``project`` rewrites one tenant's row inside the service transaction that changed it (the
listener of ``core.hooks.readiness_may_change``, under the tenant lock the service took).
``refresh`` rewrites the rows whose ``valid_until`` has passed (time alone changed them), or
every row, in batches. Both write a ``ReadinessTransition`` when the decision for the stage the
tenant buys, the decision for the beta it runs, or any gate's status changed. Nothing else
writes these rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import hooks
from core.types import User
from evidence.freshness import freshness_limit
from launchroom import catalog
from launchroom.models import (
    GATE_COLUMNS,
    LaunchStage,
    ReadinessTransition,
    Tenant,
    TenantReadiness,
    new_room_version,
)
from launchroom.readiness.evaluation import STALE, Readiness, evaluate
from launchroom.readiness.selectors import TenantData, load_one, load_tenants

BATCH_SIZE = 500

# The row's fields that a fresh evaluation fills (held_since is carried over, not evaluated).
EVALUATED_FIELDS = (
    "stage",
    "decision",
    "running_stage",
    "running_decision",
    "fallen_to_hold",
    "gates",
    "running_gates",
    "hold_reasons",
    "running_hold_reasons",
    "do_not_claim",
    "next_actions",
    "next_action",
    "waiting_on",
    "snapshot_sha256",
    "running_snapshot_sha256",
    "valid_until",
    *GATE_COLUMNS,
)
# Compared by ``check``: everything a fresh evaluation decides (not when it was computed).
COMPARED_FIELDS = EVALUATED_FIELDS


def valid_until(data: TenantData, now: datetime) -> datetime | None:
    """The earliest moment at which time alone changes this tenant's evaluation.

    Only age changes with time: the newest attachment of a requirement with a freshness
    limit stops counting once ``captured_at + limit`` has passed (``attachment_problem``
    reads ``captured_at < now - limit``). Attachments already past it change no more.
    """
    moments = []
    for attachment in data.attachments:
        try:
            requirement = catalog.requirement(attachment.gate_key, attachment.requirement_key)
        except KeyError:
            continue
        limit = freshness_limit(requirement)
        if limit is not None and attachment.captured_at + limit >= now:
            moments.append(attachment.captured_at + limit)
    return min(moments, default=None)


def _gates_json(readiness: Readiness) -> dict[str, dict[str, Any]]:
    return {g.gate.key: {"status": g.status, "effect": str(g.effect), "in_force": g.in_force} for g in readiness.gates}


def evaluated_fields(data: TenantData, now: datetime) -> dict[str, Any]:
    """What a fresh evaluation at ``now`` puts in the tenant's row."""
    requested = evaluate(data, now=now)
    stage = data.tenant.stage
    running: Readiness | None = None
    if stage in LaunchStage.values:
        running = requested if requested.stage == stage else evaluate(data, stage, now=now)
    owners = list(requested.next_actions)
    first = next(iter(requested.next_actions.items()), None)
    gates, snapshot = _gates_json(requested), requested.snapshot_sha256()
    if running is requested:  # running at the stage it asks for: the same result, hashed once
        running_gates, running_snapshot = gates, snapshot
    elif running is not None:
        running_gates, running_snapshot = _gates_json(running), running.snapshot_sha256()
    else:
        running_gates, running_snapshot = {}, ""
    fields: dict[str, Any] = {
        "stage": requested.stage,
        "decision": requested.decision,
        "running_stage": running.stage if running else "",
        "running_decision": running.decision if running else "",
        "fallen_to_hold": running is not None and not running.is_go,
        "gates": gates,
        "running_gates": running_gates,
        "hold_reasons": requested.hold_reasons,
        "running_hold_reasons": running.hold_reasons if running else [],
        "do_not_claim": requested.do_not_claim,
        "next_actions": requested.next_actions,
        "next_action": f"{first[0]}: {first[1][0]}"[:500] if first else "",
        "waiting_on": ("," + ",".join(owners) + ",")[:200] if owners else "",
        "snapshot_sha256": snapshot,
        "running_snapshot_sha256": running_snapshot,
        "valid_until": valid_until(data, now),
    }
    for column, result in zip(GATE_COLUMNS, requested.gates, strict=True):
        fields[column] = result.status
    fields["_readiness"] = requested
    return fields


def _changed_gates(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    changed = []
    for gate in catalog.GATES:
        old = (before.get(gate.key) or {}).get("status", "")
        new = (after.get(gate.key) or {}).get("status", "")
        if old != new:
            changed.append({"key": gate.key, "number": gate.number, "title": gate.title, "before": old, "after": new})
    return changed


def time_cause(readiness: Readiness, since: datetime | None, now: datetime) -> str:
    """ "time: <evidence> passed N days", naming the evidence that aged past its limit."""
    aged = []
    for result in readiness.gates:
        for requirement in result.requirements:
            attachment = requirement.attachment
            if requirement.state != STALE or attachment is None:
                continue
            limit = freshness_limit(requirement.requirement)
            if limit is None:
                continue
            expired = attachment.captured_at + limit
            if expired < now and (since is None or expired >= since):
                aged.append(f"{result.gate.title} / {requirement.requirement.label} passed {limit.days} days")
    return ("time: " + "; ".join(aged)) if aged else "time: re-evaluated"


@dataclass
class Written:
    row: TenantReadiness
    transition: ReadinessTransition | None


def _transition(
    previous: TenantReadiness | None, fields: dict[str, Any], *, cause: str, actor: User | None, now: datetime
) -> ReadinessTransition | None:
    before_gates = previous.gates if previous else {}
    changed = _changed_gates(before_gates, fields["gates"])
    decision_before = previous.decision if previous else ""
    running_before = previous.running_decision if previous else ""
    stage_before = previous.stage if previous else ""
    if (
        not changed
        and decision_before == fields["decision"]
        and running_before == fields["running_decision"]
        and stage_before == fields["stage"]
    ):
        return None
    kind = cause.split(":", 1)[0].strip()[:40] or "unknown"
    return ReadinessTransition(
        tenant_id=fields["tenant_id"],
        stage=fields["stage"],
        decision_before=decision_before,
        decision_after=fields["decision"],
        running_stage=fields["running_stage"],
        running_before=running_before,
        running_after=fields["running_decision"],
        gates_changed=changed,
        cause_kind=kind,
        cause=cause[:500],
        actor=actor if getattr(actor, "pk", None) else None,
        at=now,
    )


def _record(transition: ReadinessTransition, readiness: Readiness) -> None:
    """Keep the transition, chain it into the decision log, and tell whom it concerns (in the
    same transaction, through ``core.hooks``: the log and the notifications sit above readiness)."""
    transition.save()
    hooks.decision_recorded(transition)
    hooks.transition_recorded(transition, readiness)


def _apply(previous: TenantReadiness | None, fields: dict[str, Any], now: datetime) -> TenantReadiness:
    row = previous or TenantReadiness(tenant_id=fields["tenant_id"])
    for name in EVALUATED_FIELDS:
        setattr(row, name, fields[name])
    row.computed_at = now
    # Every write of the row may change the launch room: its cached pages are left behind
    # (launchroom/room/cache.py); folded into this write, so it costs no query.
    row.room_version = new_room_version()
    if not row.fallen_to_hold:
        row.held_since = None
    elif previous is None or not previous.fallen_to_hold or previous.held_since is None:
        row.held_since = now
    return row


def project(*, tenant_id: int, cause: str, actor: User | None = None, now: datetime | None = None) -> Written:
    """Re-evaluate one tenant and store it; record a transition when anything changed.

    Runs inside the caller's transaction, under its tenant lock (see ``core.hooks``).
    """
    now = now or timezone.now()
    # The stored row comes with the tenant (one query fewer on every write).
    loaded = load_one(tenant_id, lean=True, with_row=True)
    fields = evaluated_fields(loaded, now)
    fields["tenant_id"] = tenant_id
    previous: TenantReadiness | None = getattr(loaded.tenant, "readiness_row", None)
    transition = _transition(previous, fields, cause=cause, actor=actor, now=now)
    row = _apply(previous, fields, now)
    row.save()
    if transition is not None:
        _record(transition, fields["_readiness"])
    return Written(row, transition)


def on_readiness_change(*, tenant_id: int, cause: str, actor: User | None = None) -> None:
    """The listener registered on ``core.hooks.readiness_may_change``.

    Not while a change is only previewed (``core.hooks.previewing``): the preview evaluates
    before and after itself and rolls everything back, so the row and any transition would
    be thrown away unread.
    """
    if hooks.previewing():
        return
    project(tenant_id=tenant_id, cause=cause, actor=actor)


# Refresh ------------------------------------------------------------------------------------


@dataclass
class RefreshResult:
    evaluated: int = 0
    rewritten: int = 0
    transitions: list[ReadinessTransition] = field(default_factory=list)


def due_tenants(now: datetime) -> Any:
    """Tenants whose stored row has passed its ``valid_until``, or who have no row yet."""
    from django.db.models import Q

    return Tenant.objects.filter(Q(readiness_row__isnull=True) | Q(readiness_row__valid_until__lt=now))


def valid_row(tenant_id: int, now: datetime) -> TenantReadiness | None:
    """The tenant's stored row if it is not due (see ``due_tenants``): until its
    ``valid_until`` it equals a fresh evaluation, since every service rewrites it."""
    return (
        TenantReadiness.objects.filter(tenant_id=tenant_id)
        .exclude(valid_until__lt=now)
        .only("stage", "decision", "gates")
        .first()
    )


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def refresh(
    *, now: datetime | None = None, everything: bool = False, batch_size: int = BATCH_SIZE, cause: str = ""
) -> RefreshResult:
    """Re-evaluate the due tenants (or ``everything``), a batch per transaction under the tenant locks.

    Rows are derived data: they are written in bulk. Transitions are written one by one
    (they keep history), and only where something changed.
    """
    now = now or timezone.now()
    base = Tenant.objects.all() if everything else due_tenants(now)
    ids = list(base.order_by("pk").values_list("pk", flat=True))
    result = RefreshResult()
    for batch in _batches(ids, batch_size):
        with transaction.atomic():
            # Locked in id order, as each service locks its one tenant: no deadlock with them.
            locked = Tenant.objects.select_for_update().filter(pk__in=batch).order_by("pk")
            list(locked.values_list("pk", flat=True))
            previous = {r.tenant_id: r for r in TenantReadiness.objects.filter(tenant_id__in=batch)}
            new_rows: list[TenantReadiness] = []
            changed_rows: list[TenantReadiness] = []
            for data in load_tenants(Tenant.objects.filter(pk__in=batch), lean=True):
                fields = evaluated_fields(data, now)
                fields["tenant_id"] = data.tenant.pk
                before = previous.get(data.tenant.pk)
                was_due = before is None or before.valid_until is None or before.valid_until < now
                why = cause or (
                    time_cause(fields["_readiness"], before.computed_at if before else None, now)
                    if was_due and before is not None
                    else "refresh_readiness: first evaluation"
                    if before is None
                    else "refresh_readiness: re-evaluated"
                )
                transition = _transition(before, fields, cause=why, actor=None, now=now)
                if transition is not None:
                    _record(transition, fields["_readiness"])
                    result.transitions.append(transition)
                row = _apply(before, fields, now)
                (changed_rows if before is not None else new_rows).append(row)
                result.evaluated += 1
            TenantReadiness.objects.bulk_create(new_rows, batch_size=batch_size)
            if changed_rows:
                written = [*EVALUATED_FIELDS, "computed_at", "held_since", "room_version"]
                TenantReadiness.objects.bulk_update(changed_rows, written, batch_size=batch_size)
            result.rewritten += len(new_rows) + len(changed_rows)
    return result


# Check ------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    due: list[str] = field(default_factory=list)
    differing: list[tuple[str, list[str]]] = field(default_factory=list)


def differences(row: TenantReadiness, fields: dict[str, Any]) -> list[str]:
    """The names of the stored fields that differ from a fresh evaluation."""
    return [name for name in COMPARED_FIELDS if getattr(row, name) != fields[name]]


def check(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> CheckResult:
    """Write nothing: list the due tenants, and every not-yet-due row that differs from a fresh evaluation."""
    now = now or timezone.now()
    result = CheckResult()
    ids = list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
    for batch in _batches(ids, batch_size):
        stored = {r.tenant_id: r for r in TenantReadiness.objects.filter(tenant_id__in=batch)}
        for data in load_tenants(Tenant.objects.filter(pk__in=batch).order_by("pk"), lean=True):
            row = stored.get(data.tenant.pk)
            if row is None or (row.valid_until is not None and row.valid_until < now):
                result.due.append(data.tenant.slug)
                continue
            diff = differences(row, evaluated_fields(data, now))
            if diff:
                result.differing.append((data.tenant.slug, diff))
    return result
