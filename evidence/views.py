"""Authenticated evidence downloads: staff, or members of the attachment's tenant.

Everyone else, anonymous visitors included, gets the same 404 as for an attachment that
does not exist, so the view does not tell who has evidence. Every answer is a download
(``Content-Disposition: attachment``), never rendered by the browser; a URL or pasted
output is offered as a small text file rather than followed.
"""

from __future__ import annotations

from typing import cast

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from evidence.models import EvidenceAttachment, EvidenceKind
from evidence.validation import SERVABLE_CONTENT_TYPES
from launchroom.models import Tenant

# Evidence is served as data only: no scripts, no framing, no caching by shared proxies.
DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _harden(response: HttpResponseBase) -> HttpResponseBase:
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cache-Control"] = "private, no-store"
    return response


@require_safe
def download(request: HttpRequest, pk: int) -> HttpResponseBase:
    visible = EvidenceAttachment.objects.filter(tenant__in=Tenant.objects.restrict(request.user))
    attachment = get_object_or_404(visible, pk=pk)
    if attachment.kind == EvidenceKind.FILE:
        try:
            handle = attachment.file.open("rb")
        except (FileNotFoundError, OSError):
            # verify_evidence reports it; the buyer sees no more than "not here".
            raise Http404("The evidence file is missing from storage.") from None
        content_type = (
            attachment.content_type if attachment.content_type in SERVABLE_CONTENT_TYPES else "application/octet-stream"
        )
        response: HttpResponseBase = FileResponse(
            handle,
            as_attachment=True,
            filename=attachment.original_name or f"evidence-{attachment.pk}",
            content_type=content_type,
        )
        return _harden(response)
    if attachment.kind == EvidenceKind.URL:
        body, suffix = attachment.url + "\n", "url"
    else:
        body, suffix = attachment.output, "output"
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    # With as_attachment=True the header is always built (None is only for inline and no name).
    disposition = content_disposition_header(True, f"evidence-{attachment.pk}-{suffix}.txt")
    response["Content-Disposition"] = cast(str, disposition)
    return _harden(response)
