"""Impact before saving (docs/RULES.md section 11): what a staff change would do to a tenant's readiness.

``preview(tenant, run)`` runs the real service (``run``) inside a transaction that is always
rolled back, and compares the readiness before (the tenant's stored row while it is valid,
else ``evaluate()``) with ``evaluate()`` after: the rules are never copied here. The stored
row is not rewritten during a preview (``core.hooks.previewing``): it would be rolled back.
What the run leaves outside the database is undone too: files that ``evidence_attach``
stored are deleted; ``on_commit`` callbacks (queued e-mail, notifications, event log lines)
are discarded with the rolled-back transaction.

Registered with ``core.hooks`` (``launchroom/listeners.py``) so that billing/ and evidence/
admins reach it through ``core.hooks.preview_impact`` without importing this layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone

from core.hashing import sha256_of
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.models import Tenant, TenantReadiness
from launchroom.readiness import projection
from launchroom.readiness.evaluation import Readiness, evaluate, next_action_of
from launchroom.readiness.selectors import TenantData, load_one
from launchroom.readiness.states import GO, STATUS_LABELS

DECISION_LABELS = {GO: "Go", "hold": "Hold"}


@dataclass(frozen=True)
class GateChange:
    """One gate whose status the change would move, and what it would then need."""

    number: int
    title: str
    before: str
    after: str
    needs: list[str] = field(default_factory=list)  # "buyer: accept the manual billing fallback ..."

    @property
    def before_label(self) -> str:
        return STATUS_LABELS[self.before]

    @property
    def after_label(self) -> str:
        return STATUS_LABELS[self.after]


@dataclass
class Impact:
    """What a change would do to one tenant's readiness for its requested stage."""

    tenant: str
    stage: str
    before: str
    after: str
    gates: list[GateChange]
    result: Any = None  # what the rolled-back run returned

    @property
    def changed(self) -> bool:
        return self.before != self.after or bool(self.gates)

    @property
    def stage_label(self) -> str:
        return self.stage.replace("_", " ")

    @property
    def before_label(self) -> str:
        return DECISION_LABELS[self.before]

    @property
    def after_label(self) -> str:
        return DECISION_LABELS[self.after]

    def sentence(self, verb: str = "Saving") -> str:
        """The consequence in words: "Saving will move Contoso Health from Go to Hold for paid
        beta: gate 4 goes from Accepted to Missing and will need ..."."""
        if not self.changed:
            return f"{verb} changes nothing in the readiness of {self.tenant} for {self.stage_label}."
        if self.before != self.after:
            move = f"from {self.before_label} to {self.after_label}"
            lead = f"{verb} will move {self.tenant} {move} for {self.stage_label}"
        else:
            lead = f"{verb} will keep {self.tenant} at {self.after_label} for {self.stage_label}, but"
        parts = []
        for gate in self.gates:
            part = f"gate {gate.number} ({gate.title}) goes from {gate.before_label} to {gate.after_label}"
            if gate.needs:
                part += " and will need " + "; ".join(gate.needs)
            parts.append(part)
        tail = ": " + "; ".join(parts) if parts else ""
        if not parts and lead.endswith(", but"):
            lead = lead[: -len(", but")]
        return f"{lead}{tail}."


class _RolledBack(Exception):
    """Raised inside the preview's transaction to undo the run."""


_stored_files: ContextVar[list[tuple[Any, str]] | None] = ContextVar("impact_stored_files", default=None)


def _note_stored_file(sender: Any, instance: EvidenceAttachment, created: bool, **kwargs: Any) -> None:
    names = _stored_files.get()
    if names is not None and created and instance.file:
        names.append((instance.file.storage, instance.file.name))


post_save.connect(_note_stored_file, sender=EvidenceAttachment, dispatch_uid="launchroom.impact.preview.stored_files")


@contextmanager
def _removing_stored_files(kept: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Delete, afterwards, every evidence file stored meanwhile by this thread's run unless
    ``kept()``: its row is rolled back, and a stored file has no rollback of its own."""
    names: list[tuple[Any, str]] = []
    token = _stored_files.set(names)
    try:
        yield
    finally:
        _stored_files.reset(token)
        if not kept():
            for storage, name in names:
                storage.delete(name)


def _needs(readiness: Readiness, key: str) -> list[str]:
    result = readiness.gate(key)
    return [f"the {owner.lower()} to {text[0].lower()}{text[1:].rstrip('.')}" for owner, text in next_action_of(result)]


@dataclass(frozen=True)
class Before:
    """A tenant's readiness for its requested stage before a change: its decision and the
    status of each gate (by key)."""

    stage: str
    decision: str
    statuses: dict[str, str]

    @classmethod
    def of(cls, readiness: Readiness) -> Before:
        return cls(readiness.stage, readiness.decision, {g.gate.key: g.status for g in readiness.gates})


def before_change(tenant: Tenant) -> Before:
    """The readiness a change starts from: the tenant's stored row while it is still valid
    (every service rewrites it in the transaction of its change, and time alone changes
    nothing before ``valid_until``), else a fresh evaluation."""
    row = projection.valid_row(tenant.pk, timezone.now())
    if row is not None and set(row.gates) == {gate.key for gate in catalog.GATES}:
        return _row_state(row)
    return Before.of(evaluate(_load(tenant)))


def seen_sha256(tenant: Tenant) -> str:
    """A SHA-256 of the readiness a change would start from (``before_change``): what a
    confirmation page is bound to (``core.confirm``)."""
    before = before_change(tenant)
    return sha256_of({"stage": before.stage, "decision": before.decision, "statuses": before.statuses})


def compare(before: Before, after: Readiness, *, result: Any = None) -> Impact:
    """The difference between a tenant's readiness before a change and an evaluation after it."""
    gates = [
        GateChange(
            number=a.gate.number,
            title=a.gate.title,
            before=before.statuses[a.gate.key],
            after=a.status,
            needs=[] if a.met else _needs(after, a.gate.key),
        )
        for a in after.gates
        if before.statuses[a.gate.key] != a.status
    ]
    return Impact(
        tenant=str(after.tenant),
        stage=before.stage,
        before=before.decision,
        after=after.decision,
        gates=gates,
        result=result,
    )


def _load(tenant: Tenant) -> TenantData:
    """What ``evaluate`` reads, and no more (the columns it reads, no related users)."""
    return load_one(tenant.pk, lean=True)


def preview(tenant: Tenant, run: Callable[[], Any]) -> Impact:
    """Run ``run`` (a real service call) and roll it back; say what it would change.

    A refusal or field error of the service propagates, with nothing saved: the caller
    shows it as it would on a real save.
    """
    before = before_change(tenant)
    outcome: dict[str, Any] = {}
    with _removing_stored_files():
        try:
            with transaction.atomic():
                outcome["result"] = run()
                outcome["after"] = evaluate(_load(tenant), before.stage)
                raise _RolledBack
        except _RolledBack:
            pass
    return compare(before, outcome["after"], result=outcome["result"])


def keep_unless_changed(tenant: Tenant, run: Callable[[], Any]) -> Impact:
    """Run ``run`` (a real service call) once, for real, in a savepoint of the caller's
    transaction, and keep it when it changes nothing in the tenant's readiness; otherwise roll
    it back and say what it would change (``Impact.changed``), for the confirmation page.

    The run is not a preview: the projection rewrites the stored row as on any save, and the
    row it wrote is the "after" (one query, no second load). Only a run that moves readiness
    is evaluated again, for the page's words, and then rolled back with its files. A refusal
    of the service propagates with nothing saved.
    """
    before = before_change(tenant)
    kept = False
    with _removing_stored_files(kept=lambda: kept):
        try:
            with transaction.atomic():
                result = run()
                row = projection.valid_row(tenant.pk, timezone.now())
                if row is not None and _row_state(row) == before:
                    impact = Impact(str(tenant), before.stage, before.decision, before.decision, [], result)
                else:
                    impact = compare(before, evaluate(_load(tenant), before.stage), result=result)
                if impact.changed:
                    raise _RolledBack(impact)
                kept = True
                return impact
        except _RolledBack as rolled_back:
            changed: Impact = rolled_back.args[0]
    return changed


def _row_state(row: TenantReadiness) -> Before:
    return Before(row.stage, row.decision, {key: value["status"] for key, value in row.gates.items()})
