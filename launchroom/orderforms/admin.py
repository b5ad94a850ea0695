"""Order-form versions in the admin: drafts edited, signed versions frozen and revised into new ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from core.admin import HistoryAdmin, status_badge
from core.errors import NotPermitted, Refused
from launchroom import catalog
from launchroom.models import (
    OrderForm,
)
from launchroom.orderforms.room import version_diff
from launchroom.orderforms.services import (
    ORDER_FORM_SCOPE_FIELDS,
    check_new_version,
    order_form_create,
    order_form_revise,
    order_form_send,
    order_form_sign,
)

from launchroom.support import admin as support_admin  # noqa: F401  isort: skip
from core.admin import add_service_errors, refusal_list, refusal_text
from core.types import AuthenticatedHttpRequest, signed_in_user

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups  # the stubs' name for get_fields()' answer
from core.confirm import confirm_impact


class SignOrderFormForm(forms.Form):
    approval_reference = forms.CharField(max_length=120, help_text="The PO number or written approval reference.")
    signer_name = forms.CharField(max_length=200, label="Signed by (customer)")


def _sign_initial(order_form: OrderForm) -> dict[str, str]:
    """The signature form pre-filled with the buyer's approval in the launch room, if any."""
    return {"approval_reference": order_form.buyer_approval_reference, "signer_name": order_form.buyer_approver_name}


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
    change_form_template = "admin/launchroom/orderform/change_form.html"
    system_fields = [
        "version",
        "status",
        "sent_at",
        "sent_by",
        "buyer_approval",
        "approval_reference",
        "signed_at",
        "signer_name",
        "recorded_by",
        "created_at",
        "what_changed",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: OrderForm | None = None) -> list[str]:
        if obj is not None and obj.is_signed:
            return ["tenant", *ORDER_FORM_SCOPE_FIELDS, *self.system_fields]
        if obj is not None:
            return ["tenant", *self.system_fields]
        return self.system_fields

    def get_fields(self, request: HttpRequest, obj: OrderForm | None = None) -> _FieldGroups:
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

    @admin.display(description="buyer's approval")
    def buyer_approval(self, obj: OrderForm) -> str:
        return obj.buyer_approval_reference or "Not approved in the launch room"

    @admin.display(description="what changed since the version before")
    def what_changed(self, obj: OrderForm) -> SafeString:
        return SafeString(render_to_string("launchroom/_order_form_diff.html", {"diff": version_diff(obj)}))

    def get_urls(self) -> list[Any]:
        custom = [
            path("<int:pk>/send/", self.admin_site.admin_view(self.send_view), name="launchroom_orderform_send"),
            path("<int:pk>/sign/", self.admin_site.admin_view(self.sign_view), name="launchroom_orderform_sign"),
        ]
        return custom + super().get_urls()

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        obj = context.get("original")
        if obj is not None:
            context["can_send"] = obj.status in ("draft", "changes_requested") and self.has_change_permission(
                request, obj
            )
            context["can_record_signature"] = not obj.is_signed and self.has_change_permission(request, obj)
            context["missing_exclusions"] = obj.missing_standing_exclusions()
        return super().render_change_form(request, context, *args, **kwargs)

    def _change_url(self, order_form: OrderForm) -> str:
        return reverse("admin:launchroom_orderform_change", args=[order_form.pk])

    def send_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        return require_POST(self._send)(request, pk)

    def _send(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        order_form = get_object_or_404(OrderForm.objects.select_related("tenant"), pk=pk)
        if not self.has_change_permission(request, order_form):
            raise PermissionDenied
        try:
            # Sending is confirmed first, like every change, should it ever move readiness.
            confirm = confirm_impact(
                request,
                admin_site=self.admin_site,
                opts=self.model._meta,
                previews=[(order_form.tenant, lambda: order_form_send(order_form=order_form, by=request.user))],
                title=f"Confirm sending {order_form}",
                cancel_url=self._change_url(order_form),
                verb="Sending this version",
                submit_label="Send anyway",
            )
            if confirm is not None:
                return confirm
            sent = order_form_send(order_form=order_form, by=request.user)
        except NotPermitted as exc:
            raise PermissionDenied(str(exc)) from None
        except (Refused, ValidationError) as exc:
            self.message_user(request, refusal_list(f"{order_form} was not sent:", exc), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Sent v{sent.version} of the {sent.tenant} order form to the buyer; the buyer sponsor is told by "
                "e-mail and reviews it in the launch room.",
                messages.SUCCESS,
            )
        return HttpResponseRedirect(self._change_url(order_form))

    def sign_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """Record the customer's signature from the order form's own page, pre-filled with the
        buyer's approval in the launch room when there is one."""
        order_form = get_object_or_404(OrderForm.objects.select_related("tenant"), pk=pk)
        if not self.has_change_permission(request, order_form):
            raise PermissionDenied
        form = SignOrderFormForm(request.POST if request.method == "POST" else None, initial=_sign_initial(order_form))
        refusal = None
        if form.is_valid():
            try:
                confirm = self._confirm_signature(request, order_form, form.cleaned_data)
                if confirm is not None:
                    return confirm
                signed = order_form_sign(order_form=order_form, by=request.user, **form.cleaned_data)
            except NotPermitted as exc:
                raise PermissionDenied(str(exc)) from None
            except ValidationError as exc:
                add_service_errors(form, exc)
            except Refused as exc:
                refusal = exc.reasons
            else:
                self.message_user(
                    request,
                    f"Recorded the signature of v{signed.version} of the {signed.tenant} order form "
                    f"({signed.approval_reference}); it is now frozen.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(self._change_url(order_form))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Record the signature of {order_form}",
            "form": form,
            "tenants": [order_form],
            "action": None,
            "refusals": refusal,
            "opts": self.model._meta,
            "submit_label": "Record the signature",
        }
        return TemplateResponse(request, "admin/launchroom/tenant/action_form.html", context)

    def _confirm_signature(self, request: HttpRequest, order_form: OrderForm, data: dict[str, Any]) -> Any:
        """The confirmation page when recording this signature would move readiness (a newer
        signed version leaves the acceptance resting on the old one stale), else None."""

        def run() -> OrderForm:
            return order_form_sign(order_form=order_form, by=signed_in_user(request), **data)

        return confirm_impact(
            request,
            admin_site=self.admin_site,
            opts=self.model._meta,
            previews=[(order_form.tenant, run)],
            title=f"Confirm the signature of {order_form}",
            cancel_url=self._change_url(order_form),
            verb="Recording this signature",
            submit_label="Record the signature anyway",
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: OrderForm) -> str:
        return status_badge(obj.status)

    def save_model(self, request: HttpRequest, obj: OrderForm, form: forms.ModelForm, change: bool) -> None:
        scope = {name: form.cleaned_data[name] for name in ORDER_FORM_SCOPE_FIELDS}
        if change:
            saved = order_form_revise(order_form=obj, by=signed_in_user(request), **scope)
        else:
            saved = order_form_create(tenant=form.cleaned_data["tenant"], by=signed_in_user(request), **scope)
        obj.pk, obj.version, obj._state.adding = saved.pk, saved.version, False

    def _check_create(self, request: HttpRequest, form: forms.ModelForm) -> None:
        tenant = form.cleaned_data.get("tenant")
        if tenant is not None:
            try:
                check_new_version(tenant=tenant)
            except Refused as exc:
                add_service_errors(form, exc)

    def get_form(self, request: HttpRequest, obj: OrderForm | None = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)
        admin_self = self

        class CheckedForm(form_class):  # type: ignore[valid-type, misc]  # a class built at run time
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                if obj is None:
                    admin_self._check_create(request, self)
                return data

        return CheckedForm

    @admin.action(description="Record the customer's signature…", permissions=["change"])
    def sign(self, request: AuthenticatedHttpRequest, queryset: QuerySet[OrderForm]) -> HttpResponse | None:
        order_forms = list(queryset.select_related("tenant"))
        initial = (
            {
                "approval_reference": order_forms[0].buyer_approval_reference,
                "signer_name": order_forms[0].buyer_approver_name,
            }
            if len(order_forms) == 1
            else {}
        )
        form = SignOrderFormForm(request.POST if "apply" in request.POST else None, initial=initial)
        if len(order_forms) != 1:
            self.message_user(request, "Sign one order-form version at a time.", messages.ERROR)
            return None
        if form.is_valid():
            try:
                confirm = self._confirm_signature(request, order_forms[0], form.cleaned_data)
                if confirm is not None:
                    return confirm
                signed = order_form_sign(order_form=order_forms[0], by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)  # shown on the form below, to be corrected
            except Refused as exc:
                self.message_user(request, refusal_list(f"{order_forms[0]} was not signed:", exc), messages.ERROR)
                return None
            else:
                self.message_user(
                    request,
                    f"Recorded the signature of v{signed.version} of the {signed.tenant} order form "
                    f"({signed.approval_reference}); it is now frozen.",
                    messages.SUCCESS,
                )
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
    def revise(self, request: AuthenticatedHttpRequest, queryset: QuerySet[OrderForm]) -> None:
        created, refused = 0, []
        for order_form in queryset.select_related("tenant"):
            if not order_form.is_signed:
                refused.append(f"{order_form}: not signed; edit it directly.")
                continue
            try:
                order_form_revise(order_form=order_form, by=request.user)
                created += 1
            except (Refused, ValidationError) as exc:
                refused.append(f"{order_form}: {refusal_text(exc)}")
        if created:
            self.message_user(
                request,
                f"Started {created} new draft version{'s' if created != 1 else ''} from the signed one"
                f"{'s' if created != 1 else ''}; edit the draft, then send it to the buyer.",
                messages.SUCCESS,
            )
        for line in refused:
            self.message_user(request, f"Not revised: {line}", messages.ERROR)
