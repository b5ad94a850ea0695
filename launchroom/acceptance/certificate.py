"""The acceptance certificate's content and its verification code: what the certificate page,
its JSON and the launch packet show.

A verification code is derived, never stored: ``<record id>-<HMAC>`` with an HMAC-SHA256
of the record id under a key derived from ``SECRET_KEY`` (``salted_hmac``; codes made under
a key in ``SECRET_KEY_FALLBACKS`` still verify). Signed records are never written again,
so nothing is added to them; 120 bits of HMAC make a code unguessable.
"""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.acceptance.changes import snapshot_changes
from launchroom.acceptance.countersign import countersign_state
from launchroom.acceptance.serializers import acceptance_json
from launchroom.models import AcceptanceRecord, DecisionLogEntry, Tenant
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load

CODE_SALT = "thesmios.launch-packet.verification-code"


def _mac(record_id: int, secret: str | bytes) -> str:
    digest = salted_hmac(CODE_SALT, f"acceptance:{record_id}", secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest[:15]).decode().lower()


def verification_code(record_id: int) -> str:
    return f"{record_id}-{_mac(record_id, settings.SECRET_KEY)}"


def record_id_for_code(code: str) -> int | None:
    """The acceptance record id a code names, or None when the code is not one of ours."""
    head, _, mac = code.partition("-")
    # ASCII digits only: str.isdigit() also accepts '²', which int() then refuses.
    if not (head.isascii() and head.isdigit()) or len(head) > 18 or not mac:
        return None
    record_id = int(head)
    for secret in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
        if constant_time_compare(mac, _mac(record_id, secret)):
            return record_id
    return None


def certificate_data(tenant: Tenant, role: str | None, pk: int) -> dict[str, Any]:
    """What the certificate shows (page, JSON and the launch packet), for a tenant already allowed."""
    record = get_object_or_404(
        AcceptanceRecord.objects.select_related("recorded_by", "order_form"), tenant=tenant, pk=pk
    )
    data = load(tenant, with_output=False)
    readiness = evaluate(data, record.stage)
    now_snapshot = readiness.acceptance_snapshot()
    current_sha = readiness.acceptance_snapshot_sha256()
    superseded = data.superseded_by().get(record.pk)
    matches = current_sha == record.snapshot_sha256
    log_entry = DecisionLogEntry.objects.filter(tenant=tenant, kind="acceptance_record", object_id=record.pk).first()
    code = verification_code(record.pk)
    by_id = {a.pk: a for a in data.attachments}
    # The record may rest on attachments that newer ones have replaced since.
    older = {ref.get("id") for ref in record.evidence_references} - set(by_id)
    if older:
        by_id.update(EvidenceAttachment.objects.defer("output").in_bulk(older))
    evidence_rows = []
    for ref in record.evidence_references:
        attachment = by_id.get(ref.get("id"))
        gate = catalog.GATES_BY_KEY.get(attachment.gate_key) if attachment else None
        label = ""
        if attachment is not None and gate is not None:
            try:
                label = gate.requirement(attachment.requirement_key).label
            except KeyError:
                label = attachment.requirement_key
        evidence_rows.append(
            {
                "id": ref.get("id"),
                "sha256": ref.get("sha256", ""),
                "gate": gate,
                "requirement": label,
                "name": attachment.short_name if attachment else "",
            }
        )
    # The loaded copy carries the operator's countersignature (docs/RULES.md 5.9).
    loaded = next((r for r in data.acceptances if r.pk == record.pk), record)
    return {
        "countersignature": countersign_state(loaded),
        "evidence_rows": evidence_rows,
        "tenant": data.tenant,
        "role": role,
        "record": record,
        "superseded_by": superseded,
        "is_current": superseded is None,
        "current_sha256": current_sha,
        "matches": matches,
        "changes": [] if matches else snapshot_changes(record.snapshot, now_snapshot),
        "log_entry": log_entry,
        "readiness": readiness,
        "verification_code": code,
        "verification_path": reverse("verify", args=[code]),
    }


def certificate_body(context: dict[str, Any], verification_url: str) -> dict[str, Any]:
    """The certificate as JSON: the record, its snapshot, whether it still holds, its log link."""
    record = context["record"]
    superseded = context["superseded_by"]
    body = acceptance_json(
        record, tenant_slug=context["tenant"].slug, superseded_by=superseded.pk if superseded else None
    )
    log_entry = context["log_entry"]
    body.update(
        {
            "tenant_name": context["tenant"].name,
            "snapshot": record.snapshot,
            "current_snapshot_sha256": context["current_sha256"],
            "snapshot_matches": context["matches"],
            "countersignature": context["countersignature"],
            "changes": context["changes"],
            "decision_log": {"seq": log_entry.seq, "entry_hash": log_entry.entry_hash} if log_entry else None,
            "verification_code": context["verification_code"],
            "verification_url": verification_url,
        }
    )
    return body
