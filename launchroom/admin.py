"""The staff workbench: tenants, order forms, decisions and stage moves.

Every state change here calls the service in ``launchroom.services``; the admin only
collects input and reports what the service did or refused.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.admin import DecisionRecordAdmin, HistoryAdmin, ReadOnlyInline, status_badge
from core.errors import Refused
from launchroom import catalog
from launchroom.gates import ledger
from launchroom.gates.readiness import evaluate
from launchroom.gates.services import gate_decide, stage_move
from launchroom.models import (
    AcceptanceRecord,
    ApiToken,
    DecisionLogEntry,
    GateDecision,
    GateDecisionKind,
    MembershipRole,
    OrderForm,
    Stage,
    StageChange,
    Tenant,
    TenantMembership,
)
from launchroom.orderforms.services import (
    ORDER_FORM_SCOPE_FIELDS,
    order_form_create,
    order_form_revise,
    order_form_sign,
)

# The support owner's screens live in their own module; importing it registers them.
from launchroom.support import admin as support_admin  # noqa: F401  isort: skip


def _refusal_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc)


class ActiveStageFilter(admin.SimpleListFilter):
    """Stage filter that shows the active launches (not ended) unless asked otherwise."""

    title = "stage"
    parameter_name = "stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active (not ended)"), *Stage.choices, ("all", "All")]

    def choices(self, changelist: Any):  # type: ignore[no-untyped-def]
        value = self.value() or "active"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value() or "active"
        if value == "active":
            return queryset.exclude(stage=Stage.ENDED)
        if value in Stage.values:
            return queryset.filter(stage=value)
        return queryset


class GateFilter(admin.SimpleListFilter):
    """Filter decisions by gate, with the catalog's titles (no table scan for choices)."""

    title = "gate"
    parameter_name = "gate"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(g.key, f"{g.number}. {g.title}") for g in catalog.GATES if g.decided_by is not None]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(gate_key=self.value()) if self.value() else queryset


# Tenant ---------------------------------------------------------------------------------


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


class OrderFormInline(ReadOnlyInline):
    model = OrderForm
    fields = ["version", "status", "requested_stage", "approval_reference", "signed_at"]
    readonly_fields = fields
    ordering = ["-version"]
    verbose_name_plural = "order-form versions"


class GateDecisionForm(forms.Form):
    gate_key = forms.ChoiceField(
        label="Gate", choices=[(g.key, f"{g.number}. {g.title}") for g in catalog.GATES if g.decided_by]
    )
    decision = forms.ChoiceField(choices=GateDecisionKind.choices, widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Kept forever with the decision.")


class InviteForm(forms.Form):
    email = forms.EmailField(help_text="The buyer receives a one-time link to set their password.")
    role = forms.ChoiceField(choices=MembershipRole.choices, initial=MembershipRole.BUYER_SPONSOR)


class StageMoveForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required for pause and end. A move into a beta is refused unless readiness is go.",
    )


@admin.register(Tenant)
class TenantAdmin(HistoryAdmin):
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
    inlines = [MembershipInline, OrderFormInline]
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
        return status_badge("go" if obj.stage in ("private_beta", "paid_beta") else "neutral", obj.get_stage_display())

    @admin.display(description="requested stage")
    def requested_stage(self, obj: Tenant) -> str:
        value = getattr(obj, "_requested_stage", None)
        return dict(Stage.choices).get(value, "no order form") if value else "no order form"

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        """The change page opens with readiness at a glance, with the links this user may follow."""
        tenant = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if tenant is not None:
            readiness = evaluate(tenant)
            user = request.user
            extra_context["readiness_html"] = render_to_string(
                "admin/launchroom/tenant/readiness.html",
                {
                    "tenant": tenant,
                    "readiness": readiness,
                    "stage_label": dict(Stage.choices)[readiness.stage],
                    "can_attach": user.has_perm("evidence.add_evidenceattachment"),
                    "can_decide": user.has_perm("launchroom.add_gatedecision"),
                    "can_move": user.has_perm("launchroom.move_stage"),
                    "links": self.related_links(tenant, user),
                },
                request=request,
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # A launch is ended, never deleted: its decisions are kept forever.
        return False

    @staticmethod
    def related_links(tenant: Tenant, user: Any) -> list[tuple[str, str]]:
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
    ) -> HttpResponse | None:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        form = form_class(request.POST if "apply" in request.POST else None, initial=initial)
        if form.is_valid():
            done, refused = 0, []
            for tenant in tenants:
                try:
                    apply(tenant, form.cleaned_data)
                    done += 1
                except (Refused, ValidationError) as exc:
                    refused.append(f"{tenant}: {_refusal_text(exc)}")
            if done:
                self.message_user(request, f"{title}: done for {done} tenant(s).", messages.SUCCESS)
            for line in refused:
                self.message_user(request, f"Refused. {line}", messages.ERROR)
            if len(tenants) == 1 and refused:
                # Stay on the form so the refusal can be corrected.
                pass
            else:
                target = (
                    reverse("admin:launchroom_tenant_change", args=[tenants[0].pk])
                    if action is None
                    else reverse("admin:launchroom_tenant_changelist")
                )
                return HttpResponseRedirect(target)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "tenants": tenants,
            "action": action,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/launchroom/tenant/action_form.html", context)

    def _decide(self, request: HttpRequest) -> Any:
        def apply(tenant: Tenant, data: dict[str, Any]) -> None:
            gate_decide(
                tenant=tenant, gate_key=data["gate_key"], decision=data["decision"], note=data["note"], by=request.user
            )

        return apply

    def _move(self, request: HttpRequest) -> Any:
        def apply(tenant: Tenant, data: dict[str, Any]) -> None:
            stage_move(tenant=tenant, to_stage=data["to_stage"], reason=data["reason"], by=request.user)

        return apply

    @admin.action(description="Decide a gate (accept, reject or reopen)…", permissions=["decide"])
    def decide_gate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._run_form(
            request,
            list(queryset),
            form_class=GateDecisionForm,
            permission="launchroom.add_gatedecision",
            title="Decide a gate",
            apply=self._decide(request),
            action="decide_gate",
        )

    @admin.action(description="Move stage…", permissions=["move_stage"])
    def move_stage(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> HttpResponse | None:
        return self._run_form(
            request,
            list(queryset),
            form_class=StageMoveForm,
            permission="launchroom.move_stage",
            title="Move stage",
            apply=self._move(request),
            action="move_stage",
        )

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("launchroom.add_gatedecision")

    def has_move_stage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("launchroom.move_stage")

    def decide_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        tenant = get_object_or_404(Tenant, pk=pk)
        response = self._run_form(
            request,
            [tenant],
            form_class=GateDecisionForm,
            permission="launchroom.add_gatedecision",
            title=f"Decide a gate for {tenant}",
            apply=self._decide(request),
            action=None,
            initial={"gate_key": request.GET.get("gate")},
        )
        assert response is not None
        return response

    def move_stage_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        tenant = get_object_or_404(Tenant, pk=pk)
        response = self._run_form(
            request,
            [tenant],
            form_class=StageMoveForm,
            permission="launchroom.move_stage",
            title=f"Move the stage of {tenant}",
            apply=self._move(request),
            action=None,
        )
        assert response is not None
        return response

    def invite_view(self, request: HttpRequest, pk: int) -> HttpResponse:
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
            except (Refused, ValidationError) as exc:
                self.message_user(request, f"Refused: {_refusal_text(exc)}", messages.ERROR)
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


@admin.register(TenantMembership)
class TenantMembershipAdmin(HistoryAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "tenant"]
    raw_id_fields = ["user", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__name", "tenant__slug"]


# Order forms ----------------------------------------------------------------------------


class SignOrderFormForm(forms.Form):
    approval_reference = forms.CharField(max_length=120, help_text="The PO number or written approval reference.")
    signer_name = forms.CharField(max_length=200, label="Signed by (customer)")


class OrderFormAdminForm(forms.ModelForm):
    class Meta:
        model = OrderForm
        fields = [
            "tenant",
            *ORDER_FORM_SCOPE_FIELDS,
        ]


@admin.register(OrderForm)
class OrderFormAdmin(HistoryAdmin):
    form = OrderFormAdminForm
    list_display = ["tenant", "version", "status_badge", "requested_stage", "approval_reference", "signed_at"]
    list_filter = ["status", "requested_stage"]
    list_select_related = ["tenant"]
    raw_id_fields = ["tenant"]
    search_fields = ["tenant__name", "tenant__slug", "approval_reference"]
    actions = ["sign", "revise"]
    system_fields = ["version", "status", "approval_reference", "signed_at", "signer_name", "recorded_by", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: OrderForm | None = None) -> list[str]:
        if obj is not None and obj.is_signed:
            return ["tenant", *ORDER_FORM_SCOPE_FIELDS, *self.system_fields]
        if obj is not None:
            return ["tenant", *self.system_fields]
        return self.system_fields

    def get_fields(self, request: HttpRequest, obj: OrderForm | None = None) -> list[str]:
        return ["tenant", *ORDER_FORM_SCOPE_FIELDS, *([] if obj is None else self.system_fields)]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("excluded_claims", "\n".join(catalog.STANDING_EXCLUSIONS))
        return initial

    def has_change_permission(self, request: HttpRequest, obj: OrderForm | None = None) -> bool:
        # A signed version is frozen: it is viewed, and revised into a new version.
        if obj is not None and obj.is_signed:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: OrderForm | None = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: OrderForm) -> str:
        kind = {"signed": "accepted", "sent": "ready_for_review"}.get(obj.status, "neutral")
        return status_badge(kind, obj.get_status_display())

    def save_model(self, request: HttpRequest, obj: OrderForm, form: forms.ModelForm, change: bool) -> None:
        scope = {name: form.cleaned_data[name] for name in ORDER_FORM_SCOPE_FIELDS}
        if change:
            saved = order_form_revise(order_form=obj, by=request.user, **scope)
        else:
            saved = order_form_create(tenant=form.cleaned_data["tenant"], by=request.user, **scope)
        obj.pk, obj.version, obj._state.adding = saved.pk, saved.version, False

    def _check_create(self, request: HttpRequest, form: forms.ModelForm) -> None:
        tenant = form.cleaned_data.get("tenant")
        latest = OrderForm.objects.filter(tenant=tenant).order_by("-version").first() if tenant else None
        if latest is not None and not latest.is_signed:
            form.add_error(
                None,
                f"{tenant} already has v{latest.version} ({latest.get_status_display().lower()}); "
                "edit that version instead.",
            )

    def get_form(self, request: HttpRequest, obj: OrderForm | None = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        admin_self = self

        class CheckedForm(form_class):  # type: ignore[valid-type, misc]
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                if obj is None:
                    admin_self._check_create(request, self)
                return data

        return CheckedForm

    @admin.action(description="Record the customer's signature…", permissions=["change"])
    def sign(self, request: HttpRequest, queryset: QuerySet[OrderForm]) -> HttpResponse | None:
        order_forms = list(queryset.select_related("tenant"))
        form = SignOrderFormForm(request.POST if "apply" in request.POST else None)
        if len(order_forms) != 1:
            self.message_user(request, "Sign one order-form version at a time.", messages.ERROR)
            return None
        if form.is_valid():
            try:
                signed = order_form_sign(order_form=order_forms[0], by=request.user, **form.cleaned_data)
            except (Refused, ValidationError) as exc:
                self.message_user(request, f"Refused: {_refusal_text(exc)}", messages.ERROR)
                return None
            self.message_user(request, f"Signed {signed} ({signed.approval_reference}).", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record the signature of {order_forms[0]}",
            "form": form,
            "tenants": order_forms,
            "action": "sign",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/launchroom/tenant/action_form.html", context)

    @admin.action(description="Revise: start a new draft version from the signed one", permissions=["change"])
    def revise(self, request: HttpRequest, queryset: QuerySet[OrderForm]) -> None:
        created, refused = 0, []
        for order_form in queryset.select_related("tenant"):
            if not order_form.is_signed:
                refused.append(f"{order_form}: not signed; edit it directly.")
                continue
            try:
                order_form_revise(order_form=order_form, by=request.user)
                created += 1
            except (Refused, ValidationError) as exc:
                refused.append(f"{order_form}: {_refusal_text(exc)}")
        if created:
            self.message_user(request, f"Started {created} new draft version(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Refused. {line}", messages.ERROR)


# Decision records: read-only, never deleted ---------------------------------------------


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
        return status_badge(obj.decision, obj.get_decision_display())


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

    def get_queryset(self, request: HttpRequest) -> QuerySet[AcceptanceRecord]:
        return super().get_queryset(request).defer("snapshot")

    @admin.display(description="replaces", ordering="supersedes")
    def replaces(self, obj: AcceptanceRecord) -> str:
        return f"#{obj.supersedes_id}" if obj.supersedes_id else "—"

    @admin.display(description="decision", ordering="decision")
    def decision_badge(self, obj: AcceptanceRecord) -> str:
        kind = {"accepted": "accepted", "accepted_with_exclusions": "accepted", "superseded": "neutral"}
        return status_badge(kind.get(obj.decision, "rejected"), obj.get_decision_display())


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


# API tokens -----------------------------------------------------------------------------


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
