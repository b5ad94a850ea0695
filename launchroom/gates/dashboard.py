"""The staff portfolio dashboard: every tenant against every gate (issue 3).

The whole page rests on one ``load_tenants`` call (five queries whatever the number of
tenants); everything else is evaluated in memory from what it loaded.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from launchroom import catalog
from launchroom.gates.readiness import GO, HOLD, STATUS_LABELS, Readiness, evaluate
from launchroom.gates.selectors import TenantData, load_tenants
from launchroom.models import LaunchStage, Stage, Tenant

DECISION_LABELS = {GO: "Go", HOLD: "Hold"}


class PortfolioFilter(forms.Form):
    stage = forms.ChoiceField(label="Stage", choices=[("", "All stages"), *Stage.choices], required=False)
    decision = forms.ChoiceField(
        label="Decision", choices=[("", "All decisions"), *DECISION_LABELS.items()], required=False
    )


@dataclass
class PortfolioRow:
    """One tenant's line: its readiness for the stage it is buying, and for the beta it runs."""

    readiness: Readiness  # for the requested stage
    running: Readiness | None  # for the beta the tenant is in, when it is in one
    admin_url: str | None
    room_url: str

    @property
    def tenant(self) -> Tenant:
        return self.readiness.tenant

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS[self.readiness.decision]

    @property
    def fallen_to_hold(self) -> bool:
        """In a beta, but that beta's decision is now hold (stale evidence, a withdrawn acceptance)."""
        return self.running is not None and not self.running.is_go


def _admin_url(tenant: Tenant) -> str | None:
    try:
        return reverse("admin:launchroom_tenant_change", args=[tenant.pk])
    except NoReverseMatch:  # the admin does not register tenants (yet)
        return None


def _row(data: TenantData, now: datetime) -> PortfolioRow:
    requested = evaluate(data, now=now)
    stage = data.tenant.stage
    running = None
    if stage in LaunchStage.values:
        running = requested if requested.stage == stage else evaluate(data, stage, now=now)
    return PortfolioRow(
        readiness=requested,
        running=running,
        admin_url=_admin_url(data.tenant),
        room_url=reverse("launchroom:room", args=[data.tenant.slug]),
    )


def portfolio_rows(
    params: dict[str, str] | None = None,
) -> tuple[PortfolioFilter, list[PortfolioRow], list[PortfolioRow]]:
    """The filter form, the filtered rows and every tenant fallen to hold (whatever the filter)."""
    form = PortfolioFilter(params or None)
    stage = decision = ""
    if form.is_valid():
        stage = form.cleaned_data["stage"]
        decision = form.cleaned_data["decision"]
    now = timezone.now()
    everything = [_row(data, now) for data in load_tenants(Tenant.objects.all(), lean=True)]
    fallen = [row for row in everything if row.fallen_to_hold]
    rows = [
        row
        for row in everything
        if (not stage or row.tenant.stage == stage) and (not decision or row.readiness.decision == decision)
    ]
    return form, rows, fallen


PAGE_SIZE = 100


def _staff_only(request: HttpRequest) -> None:
    # Customers are not told the portfolio exists.
    if not request.user.is_staff:
        raise Http404


@never_cache  # staff-only data: never kept by a browser or a shared cache
@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    params = request.GET.copy()
    page_number = params.pop("page", [None])[-1]
    form, rows, fallen = portfolio_rows(params.dict())
    # Every tenant is evaluated (filters and the fallen-to-hold flag need them all); only a
    # page of the matrix is rendered.
    page = Paginator(rows, PAGE_SIZE).get_page(page_number)
    query = params.urlencode()
    return render(
        request,
        "launchroom/dashboard.html",
        {
            "form": form,
            "rows": page.object_list,
            "page": page,
            "total": len(rows),
            "page_query": query + "&" if query else "",
            "fallen": fallen,
            "gates": catalog.GATES,
            "status_labels": STATUS_LABELS.items(),
            "csv_url": reverse("launchroom:portfolio_csv") + (f"?{query}" if query else ""),
            "filtered": bool(request.GET.get("stage") or request.GET.get("decision")),
        },
    )


def _cell(value: str) -> str:
    # A cell starting with a formula character would run as a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@never_cache
@login_required
def portfolio_csv(request: HttpRequest) -> HttpResponse:
    """The same matrix as the dashboard, with the same filters, as CSV."""
    _staff_only(request)
    _, rows, _ = portfolio_rows(request.GET.dict())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="thesmios-portfolio-{timezone.now():%Y%m%d}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "tenant",
            "slug",
            "stage",
            "requested_stage",
            "decision",
            "fallen_to_hold",
            *(f"{gate.number} {gate.key}" for gate in catalog.GATES),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                _cell(row.tenant.name),
                row.tenant.slug,
                row.tenant.stage,
                row.readiness.stage,
                row.readiness.decision,
                "yes" if row.fallen_to_hold else "no",
                *(g.status for g in row.readiness.gates),
            ]
        )
    return response
