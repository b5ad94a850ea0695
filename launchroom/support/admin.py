"""The support owner's admin: support plans, incidents with their manual notices, status broadcasts.

Every write calls ``launchroom.support``. Only the Support owner group can add or change
here (other staff with the view permission read); the services check the role again.
``launchroom/admin.py`` imports this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from core import hooks
from core.admin import HistoryAdmin, LabelledTabularInline, add_service_errors, refusal_list
from core.confirm import CONFIRM, NOTICE, TOKEN, confirmation_token, confirmed, impact_items
from core.errors import NotPermitted, Refused
from core.types import AuthenticatedHttpRequest, signed_in_user
from evidence.models import EvidenceAttachment
from launchroom.catalog import Role
from launchroom.models import Incident, IncidentNotice, SupportPlan
from launchroom.support import services as support
from launchroom.support.notices import render_broadcast
from launchroom.tenants.services import has_role

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups  # the stubs' name for get_fields()' answer


def _is_support(request: HttpRequest) -> bool:
    return has_role(request.user, Role.SUPPORT)


class SupportPlanForm(forms.ModelForm):
    class Meta:
        model = SupportPlan
        fields = ["tenant", *support.PLAN_FIELDS]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            support.check_plan_fields(status_subscribers=data.get("status_subscribers", ""))
        except ValidationError as exc:
            add_service_errors(self, exc)
        return data


class SupportOwnerAdmin(admin.ModelAdmin):
    """The support owner's screens: only that role adds or changes rows, nothing is deleted,
    and the "status broadcast dry-run" action has a confirmation page and a "really send" box."""

    broadcast_template = "admin/launchroom/status_broadcast_confirm.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and _is_support(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and _is_support(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_broadcast_permission(self, request: HttpRequest) -> bool:
        return _is_support(request)

    def broadcast_targets(self, queryset: QuerySet[Any]) -> list[tuple[Any, Incident | None]]:
        raise NotImplementedError

    @staticmethod
    def _dry_run(request: HttpRequest, tenant: Any, incident: Incident | None) -> Any:
        return lambda: support.status_broadcast_dry_run(tenant=tenant, incident=incident, by=signed_in_user(request))

    @admin.action(description="Status broadcast dry-run…", permissions=["broadcast"])
    def status_broadcast(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Any]) -> TemplateResponse | None:
        targets = self.broadcast_targets(queryset)
        tenants = [tenant for tenant, _ in targets]
        # Only the page shown below confirms, for the rows and readiness it showed; "really
        # send" is chosen on that page.
        if confirmed(request, tenants, chosen_here=["really_send"]):
            send = request.POST.get("really_send") == "on"
            done = 0
            for tenant, incident in targets:
                try:
                    result = support.status_broadcast_dry_run(
                        tenant=tenant, incident=incident, by=signed_in_user(request), send=send
                    )
                except Refused as exc:
                    self.message_user(request, refusal_list(f"No broadcast for {tenant}:", exc), messages.ERROR)
                    continue
                done += 1
                count = len(result.recipients)
                verb = "queued for delivery" if result.sent else "rendered, not sent (no e-mail backend saw it),"
                self.message_user(
                    request,
                    f"{tenant}: the status notice was {verb} for {count} subscriber{'s' if count != 1 else ''} "
                    f"and stored as gate 7 evidence #{result.attachment.pk}.",
                    messages.SUCCESS,
                )
            if not done:
                self.message_user(request, "No broadcast was run.", messages.WARNING)
            return None

        previews = []
        for tenant, incident in targets:
            plan = getattr(tenant, "support_plan", None)
            rendered = render_broadcast(plan, incident) if plan is not None else []
            previews.append({"tenant": tenant, "incident": incident, "plan": plan, "messages": rendered})
        # What the dry run would do to readiness (it replaces gate 7's evidence), by the real
        # service rolled back; a tenant it refuses is shown as skipped above.
        readiness = [hooks.readiness_seen(tenant=tenant) for tenant in tenants]
        impacts = []
        for tenant, incident in targets:
            try:
                impacts += impact_items(
                    [(tenant, self._dry_run(request, tenant, incident))], verb="Running this dry run"
                )
            except (Refused, NotPermitted, ValidationError):
                continue
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": "Status broadcast dry-run",
            "opts": opts,
            "previews": previews,
            "impacts": impacts,
            "queryset": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "status_broadcast",
            "token_name": TOKEN,
            "token": confirmation_token(
                request,
                tenants,
                [*((ACTION_CHECKBOX_NAME, str(obj.pk)) for obj in queryset), ("action", "status_broadcast")],
                readiness,
            ),
            "notice": NOTICE if CONFIRM in request.POST else "",
            "delivering_backend": support.delivering_backend_configured(),
            "email_backend": settings.EMAIL_BACKEND,
        }
        return TemplateResponse(request, self.broadcast_template, context)


@admin.register(SupportPlan)
class SupportPlanAdmin(SupportOwnerAdmin, HistoryAdmin):
    form = SupportPlanForm
    raw_id_fields = ["tenant", "support_owner"]
    list_display = ["tenant", "support_owner_display", "manual_incident_channel", "subscriber_count", "last_dry_run"]
    list_select_related = ["tenant", "support_owner"]
    search_fields = ["tenant__name", "tenant__slug", "support_owner_name", "status_subscribers"]
    readonly_fields = ["updated_at"]
    actions = ["status_broadcast"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SupportPlan]:
        last = EvidenceAttachment.objects.filter(
            tenant=OuterRef("tenant"), gate_key=support.GATE, requirement_key=support.DRY_RUN_REQUIREMENT
        ).order_by("-captured_at", "-id")
        return super().get_queryset(request).annotate(last_dry_run_at=Subquery(last.values("captured_at")[:1]))

    def broadcast_targets(self, queryset: QuerySet[SupportPlan]) -> list[tuple[Any, Incident | None]]:
        return [(plan.tenant, None) for plan in queryset.select_related("tenant__support_plan__support_owner")]

    def get_readonly_fields(self, request: HttpRequest, obj: SupportPlan | None = None) -> list[str]:
        # The tenant of an existing plan does not change.
        return ["tenant", "updated_at"] if obj is not None else ["updated_at"]

    def save_model(self, request: HttpRequest, obj: SupportPlan, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in support.PLAN_FIELDS if name in form.cleaned_data}
        saved = support.support_plan_save(tenant=obj.tenant, by=signed_in_user(request), **fields)
        obj.pk = saved.pk

    @admin.display(description="support owner", ordering="support_owner_name")
    def support_owner_display(self, obj: SupportPlan) -> str:
        if obj.support_owner_name:
            return obj.support_owner_name
        return obj.support_owner.get_full_name() if obj.support_owner else "-"

    @admin.display(description="subscribers")
    def subscriber_count(self, obj: SupportPlan) -> int:
        return len(obj.subscribers)

    @admin.display(description="last dry-run")
    def last_dry_run(self, obj: SupportPlan) -> str:
        when = getattr(obj, "last_dry_run_at", None)
        return f"{when:%Y-%m-%d %H:%M}" if when else "never"


class IncidentNoticeForm(forms.ModelForm):
    """A new notice, checked by the service's own rule so a refusal is a form error, not a 500."""

    class Meta:
        model = IncidentNotice
        fields = ["recipient", "channel", "sent_at", "text"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and self.has_changed():
            errors = support.incident_notice_errors(
                recipient=data.get("recipient", ""),
                channel=data.get("channel", ""),
                sent_at=data.get("sent_at"),
                text=data.get("text", ""),
            )
            # A field the form refused already keeps its own error.
            errors = {name: message for name, message in errors.items() if name not in self.errors}
            if errors:
                add_service_errors(self, ValidationError(errors))
        return data


class IncidentNoticeInline(LabelledTabularInline):
    """Manual notices: added, never edited or deleted."""

    model = IncidentNotice
    form = IncidentNoticeForm
    fields = ["recipient", "channel", "sent_at", "text", "recorded_by"]
    readonly_fields = ["recorded_by"]
    extra = 1
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[IncidentNotice]:
        return super().get_queryset(request).select_related("recorded_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and _is_support(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IncidentStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["tenant", "severity", "summary", "customer_impact", "resolution"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and data.get("resolution"):
            self.add_error("resolution", "Open the incident first; resolve it afterwards.")
        return data


@admin.register(Incident)
class IncidentAdmin(SupportOwnerAdmin, HistoryAdmin):
    form = IncidentForm
    inlines = [IncidentNoticeInline]
    autocomplete_fields = ["tenant"]
    list_display = ["summary", "tenant", "severity", "opened_at", "state", "notice_count"]
    list_select_related = ["tenant"]
    list_filter = [IncidentStateFilter, "severity"]
    search_fields = ["summary", "tenant__name", "tenant__slug"]
    actions = ["status_broadcast"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(notices_total=Count("notices"))

    def broadcast_targets(self, queryset: QuerySet[Incident]) -> list[tuple[Any, Incident | None]]:
        incidents = queryset.select_related("tenant__support_plan__support_owner")
        return [(incident.tenant, incident) for incident in incidents]

    def get_fields(self, request: HttpRequest, obj: Incident | None = None) -> _FieldGroups:
        if obj is None:
            return ["tenant", "severity", "summary", "customer_impact"]
        return [
            "tenant",
            "severity",
            "summary",
            "customer_impact",
            "opened_at",
            "opened_by",
            "resolution",
            "resolved_at",
            "broadcast_dry_run_output",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        if obj is None:
            return []
        fixed = ["tenant", "severity", "summary", "customer_impact", "opened_at", "opened_by", "resolved_at"]
        fixed.append("broadcast_dry_run_output")
        if obj.resolved_at is not None:
            fixed.append("resolution")
        return fixed

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            opened = support.incident_open(
                tenant=data["tenant"],
                severity=data["severity"],
                summary=data["summary"],
                customer_impact=data["customer_impact"],
                by=signed_in_user(request),
            )
            obj.pk = opened.pk
            obj.opened_at = opened.opened_at
            return
        resolution = (data.get("resolution") or "").strip()
        stored = Incident.objects.get(pk=obj.pk)
        if resolution and stored.resolved_at is None:
            support.incident_resolve(incident=stored, resolution=resolution, by=signed_in_user(request))

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        incident = formset.instance
        created = []
        for notice_form in formset.extra_forms:
            if not notice_form.has_changed():
                continue
            data = notice_form.cleaned_data
            created.append(
                support.incident_notice_add(
                    incident=incident,
                    recipient=data["recipient"],
                    channel=data["channel"],
                    sent_at=data["sent_at"],
                    text=data["text"],
                    by=signed_in_user(request),
                )
            )
        # What the admin's change message reads, as formset.save() would have set it.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = created, [], []

    @admin.display(description="state", ordering="resolved_at")
    def state(self, obj: Incident) -> str:
        return "Open" if obj.resolved_at is None else f"Resolved {timezone.localtime(obj.resolved_at):%Y-%m-%d %H:%M}"

    @admin.display(description="notices", ordering="notices_total")
    def notice_count(self, obj: Incident) -> int:
        return getattr(obj, "notices_total", 0)
