"""The launch room's evidence list: every attachment of the tenant, a page at a time."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.room.presenters import person
from launchroom.tenants.access import tenant_for_user

EVIDENCE_PAGE_SIZE = 25


@never_cache
@login_required
@require_GET
def evidence_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Every attachment of the tenant, newest first, a page at a time."""
    tenant, _role = tenant_for_user(request.user, slug)
    attachments = (
        EvidenceAttachment.objects.filter(tenant=tenant)
        .defer("output")
        .select_related("uploaded_by")
        .order_by("-captured_at", "-id")
    )
    page = Paginator(attachments, EVIDENCE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for attachment in page.object_list:
        gate = catalog.GATES_BY_KEY.get(attachment.gate_key)
        try:
            requirement = catalog.requirement(attachment.gate_key, attachment.requirement_key).label
        except KeyError:
            requirement = attachment.requirement_key
        rows.append(
            {
                "attachment": attachment,
                "name": attachment.short_name,
                "gate": gate,
                "requirement": requirement,
                "by": attachment.produced_by_command or person(attachment.uploaded_by),
            }
        )
    return render(request, "launchroom/evidence.html", {"tenant": tenant, "page": page, "rows": rows})
