"""Acceptance records in the admin: read-only, never deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path

from core.admin import DecisionRecordAdmin, status_badge
from launchroom.acceptance.countersign_admin import countersign_view
from launchroom.models import (
    AcceptanceRecord,
)

from launchroom.support import admin as support_admin  # noqa: F401  isort: skip


@admin.register(AcceptanceRecord)
class AcceptanceRecordAdmin(DecisionRecordAdmin):
    list_display = [
        "tenant",
        "stage",
        "decision_badge",
        "signer_name",
        "signer_role",
        "signed_at",
        "on_written_approval",
        "replaces",
    ]
    list_filter = ["stage", "decision", "on_written_approval"]
    list_select_related = ["tenant"]
    search_fields = ["tenant__name", "tenant__slug", "signer_name", "approval_reference"]
    exclude = ["snapshot"]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.countersign_view)
        custom = [path("<int:pk>/countersign/", view, name="launchroom_acceptancerecord_countersign")]
        return custom + super().get_urls()

    def countersign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return countersign_view(request, pk, admin_site=self.admin_site)

    def get_queryset(self, request: HttpRequest) -> QuerySet[AcceptanceRecord]:
        return super().get_queryset(request).defer("snapshot")

    @admin.display(description="replaces", ordering="supersedes")
    def replaces(self, obj: AcceptanceRecord) -> str:
        return f"#{obj.supersedes_id}" if obj.supersedes_id else "—"

    @admin.display(description="decision", ordering="decision")
    def decision_badge(self, obj: AcceptanceRecord) -> str:
        return status_badge(obj.decision)
