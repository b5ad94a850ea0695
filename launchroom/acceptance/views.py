"""The acceptance certificate (HTML and JSON) and what changed since signing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.acceptance.changes import snapshot_changes
from launchroom.acceptance.serializers import acceptance_json
from launchroom.gates.readiness import (
    STATUS_LABELS,
    evaluate,
)
from launchroom.gates.selectors import load
from launchroom.models import AcceptanceRecord, DecisionLogEntry, LaunchStage, Tenant
from launchroom.packet.keys import verification_code
from launchroom.tenants.access import tenant_for_user


def _certificate_data(request: HttpRequest, slug: str, pk: int) -> dict[str, Any]:
    tenant, role = tenant_for_user(request.user, slug)
    context = certificate_data(tenant, role, pk)
    context["verification_url"] = request.build_absolute_uri(context["verification_path"])
    return context


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
    return {
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
            "changes": context["changes"],
            "decision_log": {"seq": log_entry.seq, "entry_hash": log_entry.entry_hash} if log_entry else None,
            "verification_code": context["verification_code"],
            "verification_url": verification_url,
        }
    )
    return body


@never_cache
@login_required
@require_GET
def certificate(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The printable acceptance certificate; it recomputes the snapshot and says if it still holds."""
    context = _certificate_data(request, slug, pk)
    record = context["record"]
    context["stage_label"] = LaunchStage(record.stage).label
    context["signed_gates"] = [
        {**gate, "status_label": STATUS_LABELS.get(gate.get("status", ""), gate.get("status", ""))}
        for gate in (record.snapshot or {}).get("gates", [])
    ]
    return render(request, "launchroom/certificate.html", context)


@never_cache
@login_required
@require_GET
def certificate_json(request: HttpRequest, slug: str, pk: int) -> JsonResponse:
    """The certificate's JSON twin."""
    context = _certificate_data(request, slug, pk)
    return JsonResponse(certificate_body(context, context["verification_url"]), json_dumps_params={"indent": 2})
