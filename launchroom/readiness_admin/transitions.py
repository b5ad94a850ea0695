"""Readiness transitions in the admin: a read-only list, and the inline on the tenant page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from core.admin import DecisionRecordAdmin, FixedOwnerAdmin, ReadOnlyInline, status_badge
from launchroom.models import ReadinessTransition, TenantReadiness
from launchroom.readiness.evaluation import STATUS_LABELS


def _decision(before: str, after: str) -> str:
    if not before:
        return format_html("{} {}", "first evaluated:", status_badge(after))
    if before == after:
        return status_badge(after)
    return format_html("{} → {}", status_badge(before), status_badge(after))


def gates_changed_html(row: ReadinessTransition) -> str:
    if not row.gates_changed:
        return "—"
    return format_html_join(
        "",
        "<div>{}. {}: {} → {}</div>",
        (
            (
                g["number"],
                g["title"],
                STATUS_LABELS.get(g["before"], g["before"] or "—"),
                STATUS_LABELS.get(g["after"], g["after"]),
            )
            for g in row.gates_changed
        ),
    )


class TransitionColumns:
    @admin.display(description="decision")
    def decision_change(self, obj: ReadinessTransition) -> str:
        text = _decision(obj.decision_before, obj.decision_after)
        if obj.running_stage and obj.running_before != obj.running_after:
            text = format_html(
                "{} <small>(running {}: {})</small>",
                text,
                obj.running_stage,
                _decision(obj.running_before, obj.running_after),
            )
        return text

    @admin.display(description="gates changed")
    def gates(self, obj: ReadinessTransition) -> str:
        return gates_changed_html(obj)


class TransitionInline(TransitionColumns, ReadOnlyInline):
    """The tenant page's transitions, newest first."""

    model = ReadinessTransition
    fields = readonly_fields = ("at", "stage", "decision_change", "gates", "cause", "actor")
    ordering = ["-at", "-id"]
    show_change_link = True
    verbose_name_plural = "readiness transitions (newest first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReadinessTransition]:
        return super().get_queryset(request).select_related("actor")


class CauseKindFilter(admin.SimpleListFilter):
    title = "cause"
    parameter_name = "cause"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kinds = [
            "time",
            "gate_decide",
            "stage_move",
            "acceptance_sign",
            "evidence_attach",
            "evidence_verify",
            "order_form_create",
            "order_form_revise",
            "order_form_sign",
            "billing_fallback_accept",
            "support_plan_save",
            "tenant_create",
            "tenant_update",
            "refresh_readiness",
        ]
        return [(k, k) for k in kinds]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(cause_kind=self.value()) if self.value() else queryset


@admin.register(ReadinessTransition)
class ReadinessTransitionAdmin(TransitionColumns, DecisionRecordAdmin):
    list_display = ["at", "tenant", "stage", "decision_change", "gates", "cause", "actor"]
    list_filter = [CauseKindFilter, "decision_after", "stage"]
    list_select_related = ["tenant", "actor"]
    search_fields = ["tenant__name", "tenant__slug", "cause"]
    date_hierarchy = "at"
    readonly_fields = [
        "tenant",
        "stage",
        "decision_before",
        "decision_after",
        "running_stage",
        "running_before",
        "running_after",
        "gates_changed",
        "cause_kind",
        "cause",
        "actor",
        "at",
    ]


@admin.register(TenantReadiness)
class TenantReadinessAdmin(FixedOwnerAdmin):
    """Stored readiness, to look at: written only by the services and ``refresh_readiness``."""

    list_display = ["tenant", "stage", "decision", "running_stage", "running_decision", "valid_until", "computed_at"]
    list_filter = ["decision", "fallen_to_hold", "stage"]
    list_select_related = ["tenant"]
    search_fields = ["tenant__name", "tenant__slug"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
