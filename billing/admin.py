"""The finance owner's screen: billing profiles (gate 4)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from billing.models import BillingProfile
from core import hooks
from core.admin import HistoryAdmin, status_badge
from launchroom.models import Tenant


@admin.register(BillingProfile)
class BillingProfileAdmin(HistoryAdmin):
    list_display = ["tenant", "route", "plan", "seat_cap", "billing_owner_name", "fallback_status"]
    list_filter = ["route"]
    list_select_related = ["tenant", "fallback_accepted_by"]
    raw_id_fields = ["tenant"]
    search_fields = ["tenant__name", "tenant__slug", "billing_owner_name", "billing_owner_email"]
    readonly_fields = ["fallback_accepted_by", "fallback_accepted_name", "fallback_accepted_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["tenant", "route", "plan", "seat_cap"]}),
        (
            "Billing owner and invoicing",
            {"fields": ["billing_owner_name", "billing_owner_email", "po_terms", "invoice_contact"]},
        ),
        ("Terms", {"fields": ["renewal_terms", "cancellation_terms"]}),
        (
            "Manual billing fallback",
            {
                "fields": ["fallback_accepted_by", "fallback_accepted_name", "fallback_accepted_at", "updated_at"],
                "description": "The buyer sponsor or buyer finance accepts the manual billing fallback in the launch "
                "room. Changing the terms above after that needs a new acceptance.",
            },
        ),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: BillingProfile | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BillingProfile, form: Any, change: bool) -> None:
        # Gate 4 reads these terms: the stored readiness follows under the tenant lock (core.hooks).
        with transaction.atomic():
            Tenant.objects.select_for_update().get(pk=obj.tenant_id)
            super().save_model(request, obj, form, change)
            hooks.readiness_may_change(
                tenant_id=obj.tenant_id, cause="billing_profile_save: billing terms saved", actor=request.user
            )

    @admin.display(description="manual fallback")
    def fallback_status(self, obj: BillingProfile) -> str:
        if obj.fallback_accepted:
            return status_badge("accepted", "Accepted")
        if obj.fallback_accepted_at:
            return status_badge("stale", "Terms changed since acceptance")
        return status_badge("missing", "Not accepted")
