"""The tamper-evident decision log: a per-tenant SHA-256 hash chain over decision rows.

Every gate decision, acceptance record, stage move, order-form signature, acceptance of
the manual billing fallback, comment and readiness transition appends one
``DecisionLogEntry`` in the transaction that writes
the row (the services announce the row through ``core.hooks.decision_recorded``; the
listener in ``launchroom/listeners.py`` calls ``append``): ``entry_hash = sha256(prev_hash + payload)``, where
``payload`` is the canonical JSON of the row's own fields. Editing, deleting, reordering or
inserting a row behind the services' back breaks the chain, which ``verify`` reports.

The chain alone cannot see a link cut off the end of the log, nor a chain recomputed from
the tampered link onwards (the hash has no secret). The history tables close both gaps:
``append`` writes through the ORM, so every link also has a creation record in
``HistoricalDecisionLogEntry``; a link that history saw created but the log no longer
holds was deleted, and a link with no creation record, or one that differs from it, was
written behind the portal's back. Tampering that also rewrites the history tables is out
of reach of any check inside the same database; the backup drill's dumps are the
outside copy.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.db.models import Q

from billing.models import BillingFallbackAcceptance
from core.hashing import canonical_json
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceRecord,
    Comment,
    DecisionLogEntry,
    GateDecision,
    OrderForm,
    OrderFormStatus,
    ReadinessTransition,
    StageChange,
    Tenant,
)

GENESIS = "0" * 64

KINDS: dict[str, type[models.Model]] = {
    "gate_decision": GateDecision,
    "acceptance_record": AcceptanceRecord,
    "stage_change": StageChange,
    # The signed version (a draft is not a decision and is not logged).
    "signed_order_form": OrderForm,
    "billing_fallback_acceptance": BillingFallbackAcceptance,
    # The record of what was said and of how readiness moved: append-only like the decisions,
    # and chained so that a comment or a transition deleted (or truncated) behind the portal's
    # back is caught too.
    "comment": Comment,
    "readiness_transition": ReadinessTransition,
    "acceptance_countersignature": AcceptanceCountersignature,
}
KIND_OF = {model: kind for kind, model in KINDS.items()}
# Which rows of a kind's table the log must hold (every row, unless named here).
LOGGED_ROWS: dict[str, Q] = {"signed_order_form": Q(status=OrderFormStatus.SIGNED)}

# The fields of a link that its creation record in the history must still match.
LINK_FIELDS = ("seq", "kind", "object_id", "payload", "prev_hash", "entry_hash")

# Fields added after rows were logged, left out of a payload while they hold the value the
# migration gave the old rows, so that links written before the field existed still verify.
ADDED_LATER: dict[str, object] = {"countersign_required": False}


def row_payload(row: models.Model) -> str:
    """The canonical JSON of a decision row's concrete fields (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if f.attname in ADDED_LATER and value == ADDED_LATER[f.attname]:
            continue
        if isinstance(value, datetime) and value.tzinfo is not None:
            # As the database gives it back, whatever zone the caller passed.
            value = value.astimezone(UTC)
        data[f.attname] = value.isoformat() if hasattr(value, "isoformat") else value
    return canonical_json(data)


def link_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def append(row: models.Model) -> DecisionLogEntry:
    """Append ``row`` to its tenant's chain. Call inside the transaction that wrote it,
    with the tenant row locked, so that two writers cannot take the same ``seq``."""
    tenant_id = row.tenant_id  # type: ignore[attr-defined]  # every logged kind has a tenant
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
    """The first broken link of a tenant's log: ``seq`` is None when the problem is a
    decision row that has no link at all."""

    tenant: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"link {self.seq}" if self.seq is not None else "log"
        return f"{self.tenant}: {where}: {self.problem}"


@dataclass
class Result:
    """One tenant's verification: how many links it holds and its first break, if any."""

    tenant: Tenant
    links: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _first_break(
    tenant: Tenant,
    entries: list[DecisionLogEntry],
    rows: dict[tuple[str, int], models.Model],
    created: dict[int, dict[str, Any]],
) -> Break | None:
    """Walk one tenant's chain in ``seq`` order and name the first link that fails.

    ``entries`` are the live links, ``rows`` the live decision rows by (kind, id), and
    ``created`` the history's creation record of each link by its id.
    """
    slug = tenant.slug
    prev = GENESIS
    seen: set[tuple[str, int]] = set()
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            return Break(slug, expected_seq, "is missing: it was deleted from the log")
        if entry.prev_hash != prev:
            return Break(
                slug,
                entry.seq,
                "does not follow the link before it: links were reordered, or one was inserted or deleted",
            )
        if link_hash(entry.prev_hash, entry.payload) != entry.entry_hash:
            return Break(slug, entry.seq, "its hash does not match its content: the log entry was edited")
        key = (entry.kind, entry.object_id)
        row = rows.get(key)
        if row is None:
            return Break(slug, entry.seq, f"{entry.kind} {entry.object_id} was deleted")
        if row_payload(row) != entry.payload:
            return Break(slug, entry.seq, f"{entry.kind} {entry.object_id} was edited after it was logged")
        record = created.get(entry.pk)
        if record is None:
            return Break(
                slug, entry.seq, "has no creation record in the history: it was written behind the portal's back"
            )
        changed = [name for name in LINK_FIELDS if record[name] != getattr(entry, name)]
        if changed:
            return Break(
                slug,
                entry.seq,
                f"differs from the link the portal wrote ({', '.join(changed)}): the log was rewritten",
            )
        seen.add(key)
        prev = entry.entry_hash
    live_ids = {entry.pk for entry in entries}
    lost = sorted(record["seq"] for entry_id, record in created.items() if entry_id not in live_ids)
    if lost:
        return Break(slug, lost[0], "was deleted from the end of the log (the history recorded it)")
    unlogged = sorted(set(rows) - seen)
    if unlogged:
        kind, pk = unlogged[0]
        after = f" (the log ends at link {entries[-1].seq})" if entries else " (the log is empty)"
        return Break(slug, None, f"{kind} {pk} is not in the log: it was inserted behind the portal's back{after}")
    return None


def _verify_batch(tenants: list[Tenant]) -> Iterator[Result]:
    ids = [t.pk for t in tenants]
    entries: dict[int, list[DecisionLogEntry]] = defaultdict(list)
    for entry in DecisionLogEntry.objects.filter(tenant_id__in=ids).order_by("tenant_id", "seq"):
        entries[entry.tenant_id].append(entry)
    rows: dict[int, dict[tuple[str, int], models.Model]] = defaultdict(dict)
    for kind, model in KINDS.items():
        logged = model._default_manager.filter(LOGGED_ROWS.get(kind, Q()), tenant_id__in=ids).order_by()
        for row in logged:
            rows[row.tenant_id][(kind, row.pk)] = row  # type: ignore[attr-defined]  # every logged kind has a tenant
    created: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    history = DecisionLogEntry.history.model
    for record in history.objects.filter(tenant_id__in=ids, history_type="+").values("id", "tenant_id", *LINK_FIELDS):
        created[record["tenant_id"]][record["id"]] = record
    for tenant in tenants:
        chain = entries.get(tenant.pk, [])
        yield Result(tenant, len(chain), _first_break(tenant, chain, rows[tenant.pk], created[tenant.pk]))


def verify(tenants: Iterable[Tenant] | None = None, *, batch_size: int = 200) -> Iterator[Result]:
    """Verify each tenant's log (every tenant when ``tenants`` is None), in slug order,
    loading a batch of tenants at a time so memory stays flat for any number of them."""
    source = Tenant.objects.order_by("slug") if tenants is None else tenants
    batch: list[Tenant] = []
    for tenant in source.iterator() if isinstance(source, models.QuerySet) else source:
        batch.append(tenant)
        if len(batch) >= batch_size:
            yield from _verify_batch(batch)
            batch = []
    if batch:
        yield from _verify_batch(batch)
