"""The finance owner's screen: billing profiles (gate 4)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from billing.models import BillingFallbackAcceptance, BillingProfile
from billing.services import PROFILE_FIELDS, billing_profile_save
from core.admin import DecisionRecordAdmin, HistoryAdmin, status_badge, tone_badge
from core.confirm import ImpactConfirmAdmin
from core.types import signed_in_user


@admin.register(BillingProfile)
class BillingProfileAdmin(ImpactConfirmAdmin, HistoryAdmin):
    list_display = ["tenant", "route", "plan", "seat_cap", "billing_owner_name", "fallback_status"]
    list_filter = ["route"]
    list_select_related = ["tenant", "fallback_accepted_by"]
    raw_id_fields = ["tenant"]
    search_fields = ["tenant__name", "tenant__slug", "billing_owner_name", "billing_owner_email"]
    readonly_fields = [
        "fallback_accepted_by",
        "fallback_accepted_name",
        "fallback_accepted_at",
        "fallback_acceptance",
        "updated_at",
    ]
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
                "fields": [
                    "fallback_accepted_by",
                    "fallback_accepted_name",
                    "fallback_accepted_at",
                    "fallback_acceptance",
                    "updated_at",
                ],
                "description": "The buyer sponsor or buyer finance accepts the manual billing fallback in the launch "
                "room. Changing the terms above after that needs a new acceptance.",
            },
        ),
    ]

    def has_delete_permission(self, request: HttpRequest, obj: BillingProfile | None = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: BillingProfile | None = None) -> list[str]:
        # A profile belongs to its tenant for good.
        return [*self.readonly_fields, "tenant"] if obj is not None else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: BillingProfile, form: forms.ModelForm, change: bool) -> None:
        terms = {name: form.cleaned_data[name] for name in PROFILE_FIELDS if name in form.cleaned_data}
        tenant = obj.tenant if change else form.cleaned_data["tenant"]

        def run() -> BillingProfile:
            return billing_profile_save(tenant=tenant, by=signed_in_user(request), **terms)

        # A change that moves readiness (terms the buyer accepted, say) is confirmed first.
        cancel = reverse("admin:billing_billingprofile_change", args=[obj.pk]) if change else request.path
        self.confirm_or_raise(request, tenant=tenant, run=run, cancel_url=cancel)
        saved = run()
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
        obj._state.adding = False

    @admin.display(description="manual fallback")
    def fallback_status(self, obj: BillingProfile) -> str:
        if obj.fallback_accepted:
            return status_badge("accepted")
        if obj.fallback_accepted_at:
            return tone_badge("warn", "Terms changed since acceptance")
        return tone_badge("bad", "Not accepted")


@admin.register(BillingFallbackAcceptance)
class BillingFallbackAcceptanceAdmin(DecisionRecordAdmin):
    """Every acceptance of the manual billing fallback, with the terms as accepted: read-only."""

    list_display = ["tenant", "accepted_name", "accepted_by", "accepted_at", "short_fingerprint"]
    list_select_related = ["tenant", "accepted_by"]
    search_fields = ["tenant__name", "tenant__slug", "accepted_name"]
    date_hierarchy = "accepted_at"
    readonly_fields = ["tenant", "profile", "accepted_by", "accepted_name", "accepted_at", "terms", "terms_sha256"]

    @admin.display(description="terms fingerprint")
    def short_fingerprint(self, obj: BillingFallbackAcceptance) -> str:
        return obj.terms_sha256[:16] + "…"
