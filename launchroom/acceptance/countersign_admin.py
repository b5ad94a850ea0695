"""The admin's countersign page (docs/RULES.md 5.9): what the buyer signed, what changed since,
and the operator's countersignature or decline. It only calls the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.admin import add_service_errors
from core.errors import NotPermitted, Refused
from core.types import signed_in_user
from launchroom.acceptance.countersign import (
    acceptance_countersign,
    acceptance_countersign_decline,
    changes_since_signing,
    may_countersign,
)
from launchroom.models import AcceptanceCountersignature, AcceptanceRecord
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load


class CountersignForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Optional when you countersign; required when you decline (the buyer sponsor reads it).",
    )


def countersign_view(request: HttpRequest, pk: int, *, admin_site: Any) -> HttpResponse:
    """GET: the record and the form; POST ``countersign`` or ``decline``: the service."""
    user = signed_in_user(request)
    record = AcceptanceRecord.objects.select_related("tenant", "order_form", "recorded_by").filter(pk=pk).first()
    if record is None or not user.has_perm("launchroom.view_acceptancerecord"):
        raise Http404("No such acceptance record.")
    form = CountersignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        service = acceptance_countersign_decline if "decline" in request.POST else acceptance_countersign
        try:
            row = service(record=record, by=user, note=form.cleaned_data["note"])
        except NotPermitted as exc:
            form.add_error(None, " ".join(exc.reasons))
        except (Refused, ValidationError) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{row.get_kind_display()} the acceptance of {record.tenant}.")
            return HttpResponseRedirect(reverse("admin:launchroom_tenant_change", args=[record.tenant_id]))
    readiness = evaluate(load(record.tenant, with_output=False), record.stage)
    context = {
        **admin_site.each_context(request),
        "title": f"Countersign the acceptance of {record.tenant}",
        "opts": AcceptanceRecord._meta,
        "record": record,
        "answer": AcceptanceCountersignature.objects.filter(record=record).first(),
        "changes": changes_since_signing(record, readiness),
        "may_countersign": may_countersign(user=user, record=record),
        "form": form,
        "owner_line": readiness.gate("customer-acceptance").gate.owner,
    }
    return TemplateResponse(request, "admin/launchroom/acceptancerecord/countersign.html", context)
