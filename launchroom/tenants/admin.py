"""Memberships and API tokens in the admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from core.admin import HistoryAdmin, status_badge
from core.errors import Refused
from launchroom.models import (
    ApiToken,
    EmailStatus,
    MembershipRole,
    OutboundEmail,
    TenantMembership,
)
from launchroom.tenants.accounts import invitation_resend


class MembershipInline(admin.TabularInline):
    model = TenantMembership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    verbose_name = "customer member"
    verbose_name_plural = "customer members (buyers)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantMembership]:
        return super().get_queryset(request).select_related("user")


class InviteForm(forms.Form):
    email = forms.EmailField(help_text="The buyer receives a one-time link to set their password.")
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.BUYER_SPONSOR)


@admin.register(TenantMembership)
class TenantMembershipAdmin(HistoryAdmin):
    list_display = ["user", "tenant", "role", "invitation_email", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "tenant"]
    raw_id_fields = ["user", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__name", "tenant__slug"]
    actions = ["resend_invitation"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantMembership]:
        latest = OutboundEmail.objects.filter(membership=OuterRef("pk")).order_by("-created_at", "-pk")
        return super().get_queryset(request).annotate(_email_status=Subquery(latest.values("status")[:1]))

    @admin.display(description="invitation e-mail")
    def invitation_email(self, obj: TenantMembership) -> str:
        status = getattr(obj, "_email_status", None)
        if status is None:
            return "—"
        kind = {"sent": "accepted", "queued": "ready_for_review", "failed": "rejected"}[status]
        return status_badge(kind, EmailStatus(status).label)

    @admin.action(description="Re-send the invitation e-mail", permissions=["invite"])
    def resend_invitation(self, request: HttpRequest, queryset: QuerySet[TenantMembership]) -> None:
        sent = []
        for membership in queryset.select_related("user", "tenant"):
            try:
                invitation_resend(membership=membership, by=request.user, request=request)
            except Refused as exc:
                self.message_user(request, f"Not re-sent to {membership.user}: {exc}", messages.ERROR)
            else:
                sent.append(membership.user.email)
        if sent:
            self.message_user(request, f"Invitation queued again for {', '.join(sent)}.", messages.SUCCESS)

    def has_invite_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("launchroom.invite_buyer")


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(HistoryAdmin):
    """Tokens are shown once, when created; only their SHA-256 is stored."""

    form = ApiTokenForm
    list_display = ["name", "user", "prefix", "created_at", "revoked_at"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["prefix", "created_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return ["user", "name", "prefix", "created_at", "revoked_at"] if obj else ["prefix", "created_at"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        if change:
            return
        key = ApiToken.generate_key()
        obj.key_sha256 = ApiToken.hash_key(key)
        obj.prefix = key[:10]
        super().save_model(request, obj, form, change)
        self.message_user(request, f"Token created. Copy it now, it is not shown again: {key}", messages.WARNING)

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        from django.utils import timezone

        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
