"""Memberships and API tokens in the admin: every write goes through launchroom/tenants/services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from core.admin import HistoryAdmin, LabelledTabularInline, add_service_errors, tone_badge
from core.errors import Refused
from core.types import AuthenticatedHttpRequest, User, signed_in_user
from launchroom.models import (
    ApiToken,
    EmailStatus,
    MembershipRole,
    OutboundEmail,
    TenantMembership,
)
from launchroom.tenants.accounts import invitation_resend
from launchroom.tenants.services import (
    api_token_create,
    api_token_revoke,
    membership_add,
    membership_change_role,
    membership_remove,
    membership_rules,
)


class MembershipForm(forms.ModelForm):
    """A membership row; the service's membership rules are checked before anything is saved."""

    class Meta:
        model = TenantMembership
        fields = ["user", "tenant", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        user, role = data.get("user"), data.get("role")
        new_member = self.instance.pk is None or "user" in self.changed_data
        if new_member and tenant is not None and user is not None and role and not self.errors:
            try:
                membership_rules(tenant=tenant, user=user, role=role)
            except (ValidationError, Refused) as exc:
                add_service_errors(self, exc)
        return data


def save_memberships(formset: Any, *, by: User) -> None:
    """Save the tenant page's member rows through the membership services."""
    tenant = formset.instance
    created, changed, deleted = [], [], []
    for form in formset.deleted_forms:
        if form.instance.pk is not None:
            membership_remove(membership=form.instance, by=by)
            deleted.append(form.instance)
    for form in formset.initial_forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        stored = TenantMembership.objects.select_related("tenant").get(pk=form.instance.pk)
        if "user" in form.changed_data:
            membership_remove(membership=stored, by=by)
            created.append(
                membership_add(tenant=tenant, user=form.cleaned_data["user"], role=form.cleaned_data["role"], by=by)
            )
        else:
            changed.append((membership_change_role(membership=stored, role=form.cleaned_data["role"], by=by), ["role"]))
    for form in formset.extra_forms:
        if form.has_changed() and form not in formset.deleted_forms:
            created.append(
                membership_add(tenant=tenant, user=form.cleaned_data["user"], role=form.cleaned_data["role"], by=by)
            )
    # What the admin's change message reads, as formset.save() would have set it.
    formset.new_objects, formset.changed_objects, formset.deleted_objects = created, changed, deleted


class MembershipInline(LabelledTabularInline):
    model = TenantMembership
    form = MembershipForm
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
    form = MembershipForm
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
        tone = {"sent": "good", "queued": "review", "failed": "bad"}[status]
        return tone_badge(tone, EmailStatus(status).label)

    @admin.action(description="Re-send the invitation e-mail", permissions=["invite"])
    def resend_invitation(self, request: AuthenticatedHttpRequest, queryset: QuerySet[TenantMembership]) -> None:
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

    def get_readonly_fields(self, request: HttpRequest, obj: TenantMembership | None = None) -> list[str]:
        # A membership changes its role; another user or tenant is another membership.
        return ["user", "tenant", "created_at"] if obj is not None else ["created_at"]

    def save_model(self, request: HttpRequest, obj: TenantMembership, form: forms.ModelForm, change: bool) -> None:
        if change:
            saved = membership_change_role(membership=obj, role=form.cleaned_data["role"], by=signed_in_user(request))
        else:
            saved = membership_add(
                tenant=form.cleaned_data["tenant"],
                user=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
                by=signed_in_user(request),
            )
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: TenantMembership) -> None:
        membership_remove(membership=obj, by=signed_in_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TenantMembership]) -> None:
        for membership in queryset.select_related("tenant"):
            membership_remove(membership=membership, by=signed_in_user(request))


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
        token, key = api_token_create(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"], by=signed_in_user(request)
        )
        obj.pk, obj.prefix, obj.created_at = token.pk, token.prefix, token.created_at
        obj._state.adding = False
        self.message_user(request, f"Token created. Copy it now, it is not shown again: {key}", messages.WARNING)

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: AuthenticatedHttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(
            api_token_revoke(token=token, by=request.user) for token in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)
