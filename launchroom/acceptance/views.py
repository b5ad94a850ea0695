"""The acceptance certificate (HTML and JSON) and what changed since signing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from launchroom.acceptance.certificate import certificate_body, certificate_data
from launchroom.models import LaunchStage
from launchroom.readiness.evaluation import STATUS_LABELS
from launchroom.tenants.access import tenant_for_user


def _certificate_data(request: HttpRequest, slug: str, pk: int) -> dict[str, Any]:
    tenant, role = tenant_for_user(request.user, slug)
    context = certificate_data(tenant, role, pk)
    context["verification_url"] = request.build_absolute_uri(context["verification_path"])
    return context


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
