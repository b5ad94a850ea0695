"""The launch packet download, the published packet key and verifier, and the public verification page."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.errors import Refused
from launchroom.acceptance.certificate import record_id_for_code
from launchroom.models import AcceptanceDecision, AcceptanceRecord, LaunchStage
from launchroom.packet.build import VERIFIER, write_packet
from launchroom.packet.keys import PacketKeyMissing, public_key_pem
from launchroom.packet.text import human_utc
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import TenantData, load
from launchroom.tenants.access import tenant_for_user

SPOOL_BYTES = 4 * 1024 * 1024


def _unavailable(text: str) -> HttpResponse:
    return HttpResponse(text + "\n", status=503, content_type="text/plain; charset=utf-8")


@never_cache
@login_required
@require_safe
def packet_zip(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The signed launch packet of the tenant's current acceptance, as a ZIP download.

    Written into a temporary file (in memory up to a few MiB, on disk past that) and
    streamed from there, so a large packet never sits in memory whole. The documents name the
    portal by ``PORTAL_BASE_URL``, as the export command does, not by whatever host the request
    came in on: a filed certificate points at the portal's public address.
    """
    tenant, _role = tenant_for_user(request.user, slug)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (FileResponse closes it)
    try:
        write_packet(tenant, spool, base_url=settings.PORTAL_BASE_URL)
    except PacketKeyMissing as exc:
        spool.close()
        return _unavailable(str(exc))
    except Refused as exc:
        spool.close()
        return HttpResponse(str(exc) + "\n", status=409, content_type="text/plain; charset=utf-8")
    spool.seek(0)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"thesmios-launch-packet-{tenant.slug}-{stamp}.zip",
        content_type="application/zip",
    )


@require_safe
def packet_key(request: HttpRequest) -> HttpResponse:
    """The public key that verifies this portal's launch packets (PEM)."""
    try:
        pem = public_key_pem()
    except PacketKeyMissing as exc:
        return _unavailable(str(exc))
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def packet_verifier(request: HttpRequest) -> HttpResponse:
    """The standalone packet verifier (tools/verify_packet.py), for buyers to fetch themselves."""
    response = HttpResponse(VERIFIER.read_bytes(), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="verify_packet.py"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _countersigned_at(data: TenantData, record_id: int) -> str | None:
    """When an operator countersigned the record (docs/RULES.md 5.9), from the loaded records."""
    loaded = next((r for r in data.acceptances if r.pk == record_id), None)
    if loaded is None or getattr(loaded, "countersign_kind", None) != "countersigned":
        return None
    return human_utc(getattr(loaded, "countersign_at"))  # noqa: B009  an annotation, not a field


@never_cache
@require_safe
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Whether the acceptance a certificate's code names is still current: for anyone holding it.

    It shows the tenant's name, the stage, the decision and the signing time, and nothing else.
    """
    record_id = record_id_for_code(code) if len(code) <= 64 else None
    record = AcceptanceRecord.objects.select_related("tenant").filter(pk=record_id).first() if record_id else None
    if record is None:
        raise Http404("No certificate has this verification code.")
    data = load(record.tenant, with_output=False)
    successor = data.superseded_by().get(record.pk)
    if successor is not None or record.decision == AcceptanceDecision.SUPERSEDED:
        state, text = "superseded", "Superseded: a later decision replaces this acceptance."
    elif evaluate(data, record.stage).acceptance_snapshot_sha256() != record.snapshot_sha256:
        state, text = (
            "changed",
            "No longer matches: the readiness this acceptance was signed against has changed since.",
        )
    else:
        state, text = "current", "Current: this acceptance stands, and the readiness it was signed against holds."
    context = {
        "state": state,
        "state_text": text,
        "tenant_name": record.tenant.name,
        "stage": LaunchStage(record.stage).label,
        "decision": record.get_decision_display(),
        "signed_at": record.signed_at,
        "signed_at_text": human_utc(record.signed_at),
        "countersigned_at_text": _countersigned_at(data, record.pk),
    }
    return render(request, "public/verify.html", context)
