"""The finance owner's screen: billing profiles (gate 4)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from billing.models import BillingProfile
from core.admin import HistoryAdmin, status_badge, tone_badge


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

    @admin.display(description="manual fallback")
    def fallback_status(self, obj: BillingProfile) -> str:
        if obj.fallback_accepted:
            return status_badge("accepted")
        if obj.fallback_accepted_at:
            return tone_badge("warn", "Terms changed since acceptance")
        return tone_badge("bad", "Not accepted")
