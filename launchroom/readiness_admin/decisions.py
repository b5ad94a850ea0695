"""Gate decisions and stage moves in the admin: the decide / move forms and the read-only decision records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import DecisionRecordAdmin, status_badge
from core.errors import Refused
from launchroom import catalog
from launchroom.models import (
    DecisionLogEntry,
    GateDecision,
    GateDecisionKind,
    Stage,
    StageChange,
)
from launchroom.readiness import ledger
from launchroom.readiness.services import stage_move

from launchroom.support import admin as support_admin  # noqa: F401  isort: skip


class GateFilter(admin.SimpleListFilter):
    """Filter decisions by gate, with the catalog's titles (no table scan for choices)."""

    title = "gate"
    parameter_name = "gate"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(g.key, f"{g.number}. {g.title}") for g in catalog.GATES if g.decided_by is not None]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(gate_key=self.value()) if self.value() else queryset


class GateDecisionForm(forms.Form):
    gate_key = forms.ChoiceField(
        label="Gate", choices=[(g.key, f"{g.number}. {g.title}") for g in catalog.GATES if g.decided_by]
    )
    decision = forms.ChoiceField(choices=GateDecisionKind.choices, widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept forever with the decision.")


class StageMoveForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required for pause and end. A move into a beta is refused unless readiness is go.",
    )


def unless_refused(run: Callable[[], Any]) -> Callable[[], Any]:
    """``run``, previewed as no change when its service refuses it (the real apply then says why)."""

    def previewed() -> Any:
        try:
            return run()
        except (Refused, ValidationError):
            return None

    return previewed


def move_previews(tenants: list[Any], data: dict[str, Any], by: Any) -> list[tuple[Any, Callable[[], Any]]]:
    """The runs to preview before a stage move: a move that would change readiness is confirmed."""

    def run_for(tenant: Any) -> Callable[[], Any]:
        return unless_refused(
            lambda: stage_move(tenant=tenant, to_stage=data["to_stage"], reason=data["reason"], by=by)
        )

    return [(tenant, run_for(tenant)) for tenant in tenants]


@admin.register(GateDecision)
class GateDecisionAdmin(DecisionRecordAdmin):
    list_display = ["tenant", "gate_title", "decision_badge", "decided_by", "decided_at", "note"]
    list_filter = [GateFilter, "decision"]
    list_select_related = ["tenant", "decided_by"]
    search_fields = ["tenant__name", "tenant__slug", "note"]
    date_hierarchy = None

    @admin.display(description="gate", ordering="gate_key")
    def gate_title(self, obj: GateDecision) -> str:
        gate = catalog.GATES_BY_KEY.get(obj.gate_key)
        return f"{gate.number}. {gate.title}" if gate else obj.gate_key

    @admin.display(description="decision", ordering="decision")
    def decision_badge(self, obj: GateDecision) -> str:
        return status_badge(obj.decision)


@admin.register(StageChange)
class StageChangeAdmin(DecisionRecordAdmin):
    list_display = ["tenant", "from_stage", "to_stage", "changed_by", "changed_at", "reason"]
    list_filter = ["to_stage"]
    list_select_related = ["tenant", "changed_by"]
    search_fields = ["tenant__name", "tenant__slug", "reason"]


class LogKindFilter(admin.SimpleListFilter):
    """The decision-log kinds, from the ledger (no DISTINCT scan of the log for choices)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(kind, kind.replace("_", " ")) for kind in ledger.KINDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(DecisionLogEntry)
class DecisionLogEntryAdmin(DecisionRecordAdmin):
    list_display = ["tenant", "seq", "kind", "object_id", "entry_hash", "created_at"]
    list_select_related = ["tenant"]
    list_filter = [LogKindFilter]
