"""The staff portfolio dashboard and its CSV export: stored readiness, read in SQL.

The page costs the same at four tenants and at 100,000: session, user, the filtered COUNT,
one page of tenants joined to their stored rows, the fallen-to-hold banner and the recent
transitions. The CSV streams every matching tenant from a server-side iterator, so its
memory does not grow with the number of tenants.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from launchroom import catalog
from launchroom.models import GATE_COLUMNS
from launchroom.portfolio import selectors as reads
from launchroom.portfolio.selectors import DECISION_LABELS, STATUS_CODES, PortfolioFilter
from launchroom.readiness.evaluation import STATUS_LABELS

PAGE_SIZE = 100
CSV_CHUNK = 2000

__all__ = ["DECISION_LABELS", "PAGE_SIZE", "PortfolioFilter", "portfolio_csv", "portfolio_page"]


def _staff_only(request: HttpRequest) -> None:
    # Customers are not told the portfolio exists.
    if not request.user.is_staff:
        raise Http404


@never_cache  # staff-only data: never kept by a browser or a shared cache
@login_required
def portfolio_page(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    params = request.GET.copy()
    page_number = params.pop("page", [None])[-1]
    form, cleaned = reads.clean_params(params.dict())
    page = Paginator(reads.filtered(cleaned).only(*reads.MATRIX_FIELDS), PAGE_SIZE).get_page(page_number)
    fallen, fallen_total = reads.fallen_banner()
    query = params.urlencode()
    return render(
        request,
        "launchroom/dashboard.html",
        {
            "form": form,
            "rows": reads.rows_for(list(page.object_list)),
            "page": page,
            "total": page.paginator.count,
            "page_query": query + "&" if query else "",
            "fallen": fallen,
            "fallen_total": fallen_total,
            "transitions": reads.recent_transitions(),
            "gates": catalog.GATES,
            "status_legend": [(s, STATUS_CODES[s], label) for s, label in STATUS_LABELS.items()],
            "csv_url": reverse("launchroom:portfolio_csv") + (f"?{query}" if query else ""),
            "filtered": any(v for k, v in cleaned.items() if k != "sort"),
        },
    )


# The index view of the launch room calls this name for staff.
portfolio = portfolio_page


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with a formula character would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer into a streaming response."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    "tenant",
    "slug",
    "stage",
    "requested_stage",
    "decision",
    "fallen_to_hold",
    *(f"{gate.number} {gate.key}" for gate in catalog.GATES),
    "running_decision",
    "held_since",
    "waiting_on",
    "next_action",
    "valid_until",
    "computed_at",
]
CSV_VALUES = [
    "name",
    "slug",
    "stage",
    "readiness_row__stage",
    "readiness_row__decision",
    "readiness_row__fallen_to_hold",
    *(f"readiness_row__{c}" for c in GATE_COLUMNS),
    "readiness_row__running_decision",
    "readiness_row__held_since",
    "readiness_row__waiting_on",
    "readiness_row__next_action",
    "readiness_row__valid_until",
    "readiness_row__computed_at",
]


def _csv_lines(cleaned: dict[str, Any]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = reads.filtered(cleaned).values_list(*CSV_VALUES).iterator(chunk_size=CSV_CHUNK)
    fallen_at = CSV_VALUES.index("readiness_row__fallen_to_hold")
    waiting_at = CSV_VALUES.index("readiness_row__waiting_on")
    for values in rows:
        out = list(values)
        out[fallen_at] = "yes" if values[fallen_at] else "no"
        out[waiting_at] = "; ".join(r for r in (values[waiting_at] or "").split(",") if r)
        yield writer.writerow([_cell(v.isoformat() if hasattr(v, "isoformat") else v) for v in out])


@never_cache
@login_required
def portfolio_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The same matrix as the dashboard, with the same filters and sort, streamed as CSV."""
    _staff_only(request)
    _, cleaned = reads.clean_params(request.GET.dict())
    response = StreamingHttpResponse(_csv_lines(cleaned), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="thesmios-portfolio-{timezone.now():%Y%m%d}.csv"'
    return response
