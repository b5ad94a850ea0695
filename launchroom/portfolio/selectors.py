"""The portfolio's reads: filters, search, sort and the fallen-to-hold banner, all in SQL over stored readiness.

The page reads ``TenantReadiness`` rows (``launchroom.readiness.projection`` keeps them equal to
a fresh ``evaluate()``), so its cost does not grow with the number of tenants: a COUNT and a
page of rows for the matrix, one query for the banner and one for the recent transitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any

from django import forms
from django.db.models import F, Func, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core import status
from launchroom import catalog
from launchroom.catalog import BUYER, Role
from launchroom.models import GATE_COLUMNS, ReadinessTransition, Stage, Tenant, TenantReadiness
from launchroom.readiness.evaluation import ACCEPTED, GO, HOLD, STATUS_LABELS

DECISION_LABELS = {GO: "Go", HOLD: "Hold"}
# Compact codes for the matrix cells; the legend and each cell's title give the words.
STATUS_CODES = {
    "missing": "Miss",
    "stale": "Stale",
    "ready_for_review": "Review",
    "rejected": "Rej",
    "accepted": "OK",
}
WAITING_ON = [*(role.value for role in Role), BUYER]
SORTS = {
    "name": ("Name (A–Z)", [F("name").asc(), F("pk").asc()]),
    "-name": ("Name (Z–A)", [F("name").desc(), F("pk").desc()]),
    "decision": ("Decision (hold first)", [F("readiness_row__decision").desc(nulls_first=True), F("name").asc()]),
    "valid_until": (
        "Valid until (soonest first)",
        [F("readiness_row__valid_until").asc(nulls_last=True), F("name").asc()],
    ),
}
BANNER_SIZE = 20
# What the page shows of a tenant and its stored row: the row's JSON (kilobytes) stays unread.
MATRIX_FIELDS = [
    "name",
    "slug",
    "stage",
    *(
        f"readiness_row__{name}"
        for name in (
            "stage",
            "decision",
            "running_stage",
            "running_decision",
            "fallen_to_hold",
            "next_action",
            "waiting_on",
            "valid_until",
            *GATE_COLUMNS,
        )
    ),
]
BANNER_FIELDS = ["tenant__name", "tenant__slug", "tenant__stage", "held_since", "running_hold_reasons"]
RECENT_TRANSITIONS = 10


class PortfolioFilter(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100, help_text="Name or slug.")
    stage = forms.ChoiceField(label="Stage", choices=[("", "All stages"), *Stage.choices], required=False)
    decision = forms.ChoiceField(
        label="Decision", choices=[("", "All decisions"), *DECISION_LABELS.items()], required=False
    )
    gate = forms.ChoiceField(
        label="Gate",
        choices=[("", "Any gate"), *((g.key, f"{g.number}. {g.title}") for g in catalog.GATES)],
        required=False,
        help_text="Alone: the gate is not met.",
    )
    gate_status = forms.ChoiceField(
        label="Gate status", choices=[("", "Any status"), *STATUS_LABELS.items()], required=False
    )
    waiting_on = forms.ChoiceField(
        label="Waiting on", choices=[("", "Anyone"), *((r, r) for r in WAITING_ON)], required=False
    )
    fell_since = forms.DateField(
        label="Fell to hold since", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(label="Sort", choices=[(key, label) for key, (label, _) in SORTS.items()], required=False)


def _gate_column(key: str) -> str:
    return f"readiness_row__{GATE_COLUMNS[catalog.GATES_BY_KEY[key].number - 1]}"


def filtered(cleaned: dict[str, Any]) -> QuerySet[Tenant]:
    """Tenants with their stored readiness, filtered and sorted in SQL. ``cleaned`` holds only valid fields."""
    qs = Tenant.objects.select_related("readiness_row")
    if cleaned.get("q"):
        term = cleaned["q"].strip()
        qs = qs.filter(Q(name__icontains=term) | Q(slug__icontains=term))
    if cleaned.get("stage"):
        qs = qs.filter(stage=cleaned["stage"])
    if cleaned.get("decision"):
        qs = qs.filter(readiness_row__decision=cleaned["decision"])
    gate, status = cleaned.get("gate"), cleaned.get("gate_status")
    if gate and status:
        qs = qs.filter(**{_gate_column(gate): status})
    elif gate:
        qs = qs.filter(readiness_row__isnull=False).exclude(**{_gate_column(gate): ACCEPTED})
    elif status:
        any_gate = Q()
        for column in GATE_COLUMNS:
            any_gate |= Q(**{f"readiness_row__{column}": status})
        qs = qs.filter(any_gate)
    if cleaned.get("waiting_on"):
        qs = qs.filter(readiness_row__waiting_on__contains=f",{cleaned['waiting_on']},")
    if cleaned.get("fell_since"):
        since = timezone.make_aware(datetime.combine(cleaned["fell_since"], time.min))
        qs = qs.filter(readiness_row__fallen_to_hold=True, readiness_row__held_since__gte=since)
    return qs.order_by(*SORTS[cleaned.get("sort") or "name"][1])


def clean_params(params: Mapping[str, Any] | None) -> tuple[PortfolioFilter, dict[str, Any]]:
    """The bound form and the values of its valid fields (a field in error filters nothing and says why)."""
    form = PortfolioFilter(params or None)
    if not params:
        return form, {}
    form.is_valid()
    return form, dict(form.cleaned_data)


def fallen_banner() -> tuple[Sequence[TenantReadiness], int]:
    """The tenants whose running beta fell to hold (newest first, up to BANNER_SIZE) and how many in all: one query.

    The total is a subquery the database counts once from the partial index on fallen rows
    (a window over the rows would read every fallen row, JSON and all, to keep twenty)."""
    rows: list[Any] = list(fallen_banner_rows())  # annotated with the total
    return rows, (rows[0].total if rows else 0)


def fallen_banner_rows() -> QuerySet[TenantReadiness]:
    """The banner's query: the newest fallen rows, each with the total of fallen rows."""
    fallen = TenantReadiness.objects.filter(fallen_to_hold=True)
    total = fallen.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return (
        fallen.select_related("tenant")
        .only(*BANNER_FIELDS)
        .annotate(total=Subquery(total))
        .order_by(F("held_since").desc(nulls_last=True), "tenant_id")[:BANNER_SIZE]
    )


def recent_transitions(limit: int = RECENT_TRANSITIONS) -> list[ReadinessTransition]:
    return list(ReadinessTransition.objects.select_related("tenant", "actor").order_by("-at", "-id")[:limit])


@dataclass
class Cell:
    key: str
    number: int
    title: str
    status: str

    @property
    def code(self) -> str:
        return STATUS_CODES.get(self.status, "—")

    @property
    def label(self) -> str:
        return status.label(self.status) if self.status else "Not evaluated"

    def html(self) -> str:
        """The cell's badge. Built here, not in the template: a page has a thousand of them,
        and the template engine's lookups were most of the portfolio's time. A cell depends
        only on its gate and status, so each of those few pairs is built once."""
        return _cell_html(self.number, self.title, self.status)


@lru_cache(maxsize=256)
def _cell_html(number: int, title: str, status_value: str) -> str:
    cell = Cell("", number, title, status_value)
    return format_html(
        '<td class="matrix__cell"><span class="status status--{}" title="Gate {} ({}): {}">{}</span></td>',
        status_value or "neutral",
        number,
        title,
        cell.label,
        cell.code,
    )


@dataclass
class PortfolioRow:
    """One tenant's line in the matrix, from its stored readiness."""

    tenant: Tenant
    stored: TenantReadiness | None

    @property
    def decision(self) -> str:
        return self.stored.decision if self.stored else ""

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS.get(self.decision, "Not evaluated")

    @property
    def fallen_to_hold(self) -> bool:
        return bool(self.stored and self.stored.fallen_to_hold)

    @property
    def cells_html(self) -> str:
        return format_html_join("", "{}", ((cell.html(),) for cell in self.cells))

    @property
    def cells(self) -> list[Cell]:
        return [
            Cell(g.key, g.number, g.title, getattr(self.stored, column) if self.stored else "")
            for g, column in zip(catalog.GATES, GATE_COLUMNS, strict=True)
        ]

    @property
    def waiting_on(self) -> list[str]:
        return [r for r in (self.stored.waiting_on if self.stored else "").split(",") if r]


def rows_for(tenants: list[Tenant]) -> list[PortfolioRow]:
    return [PortfolioRow(t, getattr(t, "readiness_row", None)) for t in tenants]
