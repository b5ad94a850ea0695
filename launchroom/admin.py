"""The staff workbench: tenants, order forms, decisions and stage moves.

The tenant page, the hub of the workbench; each seam registers its own screens in its
``admin.py`` (imported below). Every state change calls a service; the admin only
collects input and reports what the service did or refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import HistoryAdmin, ReadOnlyInline, tone_badge
from core.confirm import ImpactConfirmAdmin, confirm_impact
from core.errors import Refused
from launchroom import catalog
from launchroom.models import (
    OrderForm,
    Stage,
    Tenant,
    TenantMembership,
)
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from launchroom.readiness.services import gate_decide, stage_move

# Each seam's screens live in its own admin module; importing them registers them.
from launchroom.acceptance import admin as acceptance_admin  # noqa: F401  isort: skip
from launchroom.conversation.admin import CommentInline  # isort: skip
from launchroom.readiness_admin import decisions as readiness_admin  # noqa: F401  isort: skip
from launchroom.orderforms import admin as orderforms_admin  # noqa: F401  isort: skip
from launchroom.support import admin as support_admin  # noqa: F401  isort: skip
from launchroom.tenants import admin as tenants_admin  # noqa: F401  isort: skip
from core.admin import add_service_errors, refusal_list
from core.types import AuthenticatedHttpRequest, RequestUser, signed_in_user
from launchroom.readiness_admin.decide import decidable_gates, decide_form_class, decide_previews, evidence_in_view
from launchroom.readiness_admin.decisions import StageMoveForm, move_previews
from launchroom.readiness_admin.transitions import TransitionInline
from launchroom.tenants.admin import InviteForm, MembershipInline, save_memberships
from launchroom.tenants.filters import ActiveStageFilter
from launchroom.tenants.services import TENANT_FIELDS, tenant_create, tenant_update

if TYPE_CHECKING:
    pass  # the stubs' name for one choice


# Tenant ---------------------------------------------------------------------------------


class OrderFormInline(ReadOnlyInline):
    model = OrderForm
    fields = readonly_fields = ("version", "status", "requested_stage", "approval_reference", "signed_at")
    ordering = ["-version"]
    verbose_name_plural = "order-form versions"


@admin.register(Tenant)
class TenantAdmin(ImpactConfirmAdmin, HistoryAdmin):
    list_display = ["name", "slug", "stage_badge", "requested_stage", "regulated_buyer", "commercial_owner"]
    list_filter = [ActiveStageFilter, "regulated_buyer"]
    list_select_related = ["commercial_owner"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["commercial_owner"]
    readonly_fields = ["stage", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "stage", "commercial_owner", "regulated_buyer"]}),
        (
            "Configured capabilities (conditional requirements)",
            {
                "fields": [
                    "issuer_fixture_configured",
                    "evidence_fixture_configured",
                    "audit_export_configured",
                    "controlled_send_configured",
                ],
                "description": "A conditional requirement counts only when its capability is configured; "
                "otherwise its claim stays on the do-not-claim list.",
            },
        ),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [MembershipInline, OrderFormInline, TransitionInline, CommentInline]
    actions = ["decide_gate", "move_stage"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        latest = OrderForm.objects.filter(tenant=OuterRef("pk")).order_by("-version")
        return super().get_queryset(request).annotate(_requested_stage=Subquery(latest.values("requested_stage")[:1]))

    def get_fieldsets(self, request: HttpRequest, obj: Tenant | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ["name", "slug", "commercial_owner", "regulated_buyer"]})]
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request: HttpRequest, obj: Tenant | None) -> list[Any]:
        return self.inlines if obj is not None else []

    @admin.display(description="stage", ordering="stage")
    def stage_badge(self, obj: Tenant) -> str:
        return tone_badge("good" if obj.stage in ("private_beta", "paid_beta") else "neutral", obj.get_stage_display())

    @admin.display(description="requested stage")
    def requested_stage(self, obj: Tenant) -> str:
        value = getattr(obj, "_requested_stage", None)
        return dict(Stage.choices).get(value, "no order form") if value else "no order form"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        """The change page opens with readiness at a glance, with the links this user may follow."""
        tenant = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if tenant is not None:
            readiness = evaluate(load(tenant, with_output=False))
            user = request.user
            extra_context["readiness_html"] = render_to_string(
                "admin/launchroom/tenant/readiness.html",
                {
                    "tenant": tenant,
                    "readiness": readiness,
                    "stage_label": dict(Stage.choices)[readiness.stage],
                    "can_attach": user.has_perm("evidence.add_evidenceattachment"),
                    "decidable": [g.key for g in decidable_gates(user)],
                    "can_move": user.has_perm("launchroom.move_stage"),
                    "current_acceptance": readiness.data.current_acceptance(readiness.stage),
                    "links": self.related_links(tenant, user),
                },
                request=request,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # A launch is ended, never deleted: its decisions are kept forever.
        return False

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in TENANT_FIELDS if name in form.cleaned_data}
        if change:
            # A flag that readiness reads is confirmed first when it would move readiness.
            def run() -> Tenant:
                return tenant_update(tenant=obj, by=signed_in_user(request), **values)

            self.confirm_or_raise(request, tenant=obj, run=run, cancel_url=request.path)
            saved = run()
        else:
            saved = tenant_create(by=signed_in_user(request), **values)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is TenantMembership:
            save_memberships(formset, by=signed_in_user(request))
        else:
            super().save_formset(request, form, formset, change)

    @staticmethod
    def related_links(tenant: Tenant, user: RequestUser) -> list[tuple[str, str]]:
        """Links to the tenant's records, only those this user may open."""
        links = []
        billing = getattr(tenant, "billing_profile", None)
        support = getattr(tenant, "support_plan", None)
        candidates = [
            ("billing.view_billingprofile", "Billing profile", "admin:billing_billingprofile_change", billing),
            ("launchroom.view_supportplan", "Support plan", "admin:launchroom_supportplan_change", support),
        ]
        for perm, label, name, obj in candidates:
            if obj is not None and user.has_perm(perm):
                links.append((label, reverse(name, args=[obj.pk])))
        if billing is None and user.has_perm("billing.add_billingprofile"):
            links.append(("Add billing profile", reverse("admin:billing_billingprofile_add") + f"?tenant={tenant.pk}"))
        if support is None and user.has_perm("launchroom.add_supportplan"):
            links.append(("Add support plan", reverse("admin:launchroom_supportplan_add") + f"?tenant={tenant.pk}"))
        for perm, label, name in [
            ("evidence.view_evidenceattachment", "Evidence", "admin:evidence_evidenceattachment_changelist"),
            ("launchroom.view_gatedecision", "Gate decisions", "admin:launchroom_gatedecision_changelist"),
            ("launchroom.view_acceptancerecord", "Acceptance records", "admin:launchroom_acceptancerecord_changelist"),
            ("launchroom.view_stagechange", "Stage moves", "admin:launchroom_stagechange_changelist"),
            ("launchroom.view_incident", "Incidents", "admin:launchroom_incident_changelist"),
        ]:
            if user.has_perm(perm):
                links.append((label, reverse(name) + f"?tenant__id__exact={tenant.pk}"))
        if user.has_perm("launchroom.invite_buyer"):
            links.append(("Invite a buyer", reverse("admin:launchroom_tenant_invite", args=[tenant.pk])))
        links.append(("Tenant history", reverse("admin:launchroom_tenant_history", args=[tenant.pk])))
        return links

    def get_urls(self) -> list[Any]:
        custom = [
            path("<int:pk>/decide/", self.admin_site.admin_view(self.decide_view), name="launchroom_tenant_decide"),
            path(
                "<int:pk>/move-stage/",
                self.admin_site.admin_view(self.move_stage_view),
                name="launchroom_tenant_move_stage",
            ),
            path("<int:pk>/invite/", self.admin_site.admin_view(self.invite_view), name="launchroom_tenant_invite"),
        ]
        return custom + super().get_urls()

    # Gate decisions and stage moves: one form, reached from the tenant page or as an action.

    def _run_form(
        self,
        request: HttpRequest,
        tenants: list[Tenant],
        *,
        form_class: type[forms.Form],
        permission: str,
        title: str,
        apply: Any,
        action: str | None,
        initial: dict[str, Any] | None = None,
        previews: Any = None,
        extra: Any = None,
    ) -> HttpResponse | None:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST if "apply" in request.POST else None, initial=initial)
        back = reverse("admin:launchroom_tenant_change", args=[tenants[0].pk]) if action is None else request.path
        if form.is_valid() and previews is not None:
            runs = previews(tenants, form.cleaned_data, request.user)  # a refused run previews no change
            confirm = confirm_impact(
                request, admin_site=self.admin_site, opts=self.model._meta, previews=runs, title=title, cancel_url=back
            )
            if confirm is not None:
                return confirm
        if form.is_valid():
            refused: list[tuple[Tenant, ValidationError | Refused]] = []
            for tenant in tenants:
                try:
                    # Each apply says what it did, in words ("Accepted gate 5 for Contoso Health.").
                    self.message_user(request, apply(tenant, form.cleaned_data), messages.SUCCESS)
                except ValidationError as exc:
                    if len(tenants) == 1:
                        # One tenant: the field errors go on the form, to be corrected there.
                        add_service_errors(form, exc)
                    else:
                        refused.append((tenant, exc))
                except Refused as exc:
                    refused.append((tenant, exc))
            for tenant, problem in refused:
                self.message_user(request, refusal_list(f"Refused for {tenant}:", problem), messages.ERROR)
            if len(tenants) != 1 or not (refused or form.errors):
                target = (
                    reverse("admin:launchroom_tenant_change", args=[tenants[0].pk])
                    if action is None
                    else reverse("admin:launchroom_tenant_changelist")
                )
                return HttpResponseRedirect(target)
            # One tenant, refused: stay on the form so the refusal can be corrected.
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "tenants": tenants,
            "action": action,
            "opts": self.model._meta,
            **(extra(form) if extra is not None else {}),
        }
        return TemplateResponse(request, "admin/launchroom/tenant/action_form.html", context)

    def _decide(self, request: AuthenticatedHttpRequest) -> Any:
        def apply(tenant: Tenant, data: dict[str, Any]) -> str:
            row = gate_decide(
                tenant=tenant, gate_key=data["gate_key"], decision=data["decision"], note=data["note"], by=request.user
            )
            gate = catalog.GATES_BY_KEY[data["gate_key"]]
            return f"{row.get_decision_display()} gate {gate.number} ({gate.title}) for {tenant}."

        return apply

    def _move(self, request: AuthenticatedHttpRequest) -> Any:
        def apply(tenant: Tenant, data: dict[str, Any]) -> str:
            before = tenant.get_stage_display()
            stage_move(tenant=tenant, to_stage=data["to_stage"], reason=data["reason"], by=request.user)
            return f"Moved {tenant} from {before} to {Stage(data['to_stage']).label}."

        return apply

    @admin.action(description="Decide a gate (accept, reject or reopen)…", permissions=["decide"])
    def decide_gate(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._run_form(
            request,
            list(queryset),
            form_class=decide_form_class(request.user),
            permission="launchroom.add_gatedecision",
            title="Decide a gate",
            apply=self._decide(request),
            action="decide_gate",
            previews=decide_previews,
        )

    @admin.action(description="Move stage…", permissions=["move_stage"])
    def move_stage(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._run_form(
            request,
            list(queryset),
            form_class=StageMoveForm,
            permission="launchroom.move_stage",
            title="Move stage",
            apply=self._move(request),
            action="move_stage",
            previews=move_previews,
        )

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("launchroom.add_gatedecision")

    def has_move_stage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("launchroom.move_stage")

    def decide_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        tenant = get_object_or_404(Tenant, pk=pk)
        response = self._run_form(
            request,
            [tenant],
            form_class=decide_form_class(request.user),
            permission="launchroom.add_gatedecision",
            title=f"Decide a gate for {tenant}",
            apply=self._decide(request),
            action=None,
            initial={"gate_key": request.GET.get("gate")},
            previews=decide_previews,
            extra=lambda form: self._evidence_context(request, tenant, form),
        )
        assert response is not None
        return response

    @staticmethod
    def _evidence_context(request: HttpRequest, tenant: Tenant, form: forms.Form) -> dict[str, Any]:
        """The evidence each offered gate rests on (only the chosen gate once one is chosen)."""
        gates = decidable_gates(request.user)
        chosen = request.POST.get("gate_key") or request.GET.get("gate")
        gates = [g for g in gates if g.key == chosen] or gates
        return {"evidence": evidence_in_view(evaluate(load(tenant, with_output=False)), gates)}

    def move_stage_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        tenant = get_object_or_404(Tenant, pk=pk)
        response = self._run_form(
            request,
            [tenant],
            form_class=StageMoveForm,
            permission="launchroom.move_stage",
            title=f"Move the stage of {tenant}",
            apply=self._move(request),
            action=None,
            previews=move_previews,
        )
        assert response is not None
        return response

    def invite_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        from launchroom.tenants.accounts import invite_buyer

        tenant = get_object_or_404(Tenant, pk=pk)
        if not request.user.has_perm("launchroom.invite_buyer"):
            raise PermissionDenied
        form = InviteForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                membership = invite_buyer(
                    tenant=tenant,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    by=request.user,
                    request=request,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Refused as exc:
                self.message_user(request, refusal_list("The invitation was refused:", exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Invited {membership.user.email} as {membership.get_role_display()}; the set-password "
                    "link was e-mailed.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:launchroom_tenant_change", args=[tenant.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invite a buyer to {tenant}",
            "form": form,
            "tenants": [tenant],
            "action": None,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/launchroom/tenant/action_form.html", context)
