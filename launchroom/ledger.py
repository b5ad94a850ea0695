"""The tamper-evident decision log: a per-tenant SHA-256 hash chain over decision rows.

Every gate decision, acceptance record and stage move appends one ``DecisionLogEntry`` in
the transaction that writes the row: ``entry_hash = sha256(prev_hash + payload)``, where
``payload`` is the canonical JSON of the row's own fields. Editing, deleting, reordering or
inserting a row behind the services' back breaks the chain, which ``verify`` reports.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import models

from launchroom.models import AcceptanceRecord, DecisionLogEntry, GateDecision, StageChange, Tenant
from launchroom.readiness import canonical_json

GENESIS = "0" * 64

KINDS: dict[str, type[models.Model]] = {
    "gate_decision": GateDecision,
    "acceptance_record": AcceptanceRecord,
    "stage_change": StageChange,
}
KIND_OF = {model: kind for kind, model in KINDS.items()}


def row_payload(row: models.Model) -> str:
    """The canonical JSON of a decision row's concrete fields (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        data[f.attname] = value.isoformat() if hasattr(value, "isoformat") else value
    return canonical_json(data)


def link_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def append(row: models.Model) -> DecisionLogEntry:
    """Append ``row`` to its tenant's chain. Call inside the transaction that wrote it,
    with the tenant row locked, so that two writers cannot take the same ``seq``."""
    tenant_id = row.tenant_id  # type: ignore[attr-defined]
    last = DecisionLogEntry.objects.filter(tenant_id=tenant_id).order_by("-seq").first()
    prev_hash = last.entry_hash if last else GENESIS
    payload = row_payload(row)
    return DecisionLogEntry.objects.create(
        tenant_id=tenant_id,
        seq=(last.seq + 1) if last else 1,
        kind=KIND_OF[type(row)],
        object_id=row.pk,
        payload=payload,
        prev_hash=prev_hash,
        entry_hash=link_hash(prev_hash, payload),
    )


@dataclass
class Break:
    tenant: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"link {self.seq}" if self.seq is not None else "log"
        return f"{self.tenant}: {where}: {self.problem}"


def verify_tenant(tenant: Tenant) -> Break | None:
    """Walk one tenant's chain; return its first broken link, or None when it holds."""
    entries = list(DecisionLogEntry.objects.filter(tenant=tenant).order_by("seq"))
    rows: dict[tuple[str, int], models.Model] = {}
    for kind, model in KINDS.items():
        for row in model._default_manager.filter(tenant=tenant):
            rows[(kind, row.pk)] = row
    prev = GENESIS
    seen: set[tuple[str, int]] = set()
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return Break(tenant.slug, entry.seq, f"expected link {expected_seq}: a link was deleted or inserted")
        if entry.prev_hash != prev:
            return Break(tenant.slug, entry.seq, "does not follow the previous link (reordered or inserted)")
        if link_hash(entry.prev_hash, entry.payload) != entry.entry_hash:
            return Break(tenant.slug, entry.seq, "its hash does not match its content (the log was edited)")
        key = (entry.kind, entry.object_id)
        row = rows.get(key)
        if row is None:
            return Break(tenant.slug, entry.seq, f"{entry.kind} {entry.object_id} was deleted")
        if row_payload(row) != entry.payload:
            return Break(tenant.slug, entry.seq, f"{entry.kind} {entry.object_id} was edited after it was logged")
        seen.add(key)
        prev = entry.entry_hash
    unlogged = sorted(set(rows) - seen)
    if unlogged:
        kind, pk = unlogged[0]
        return Break(tenant.slug, None, f"{kind} {pk} is not in the log (inserted behind the portal's back)")
    return None
