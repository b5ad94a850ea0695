"""The buyer's review of the order form in the launch room, and what changed between versions.

``/launch-room/<slug>/order-form/`` shows the version under review, its diff against the
one before and against the version the current acceptance rests on; the buyer sponsor
approves it or requests changes there. The context builders here also feed the small
includes on the launch room and the acceptance form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.errors import NotPermitted, Refused
from core.types import AuthenticatedHttpRequest
from launchroom.gates.selectors import TenantData, load
from launchroom.models import MembershipRole, OrderForm, OrderFormStatus, Tenant
from launchroom.orderforms.diff import OrderFormDiff, diff_order_forms
from launchroom.orderforms.services import order_form_buyer_approve, order_form_request_changes
from launchroom.tenants.access import tenant_for_user


class ApproveOrderFormForm(forms.Form):
    name = forms.CharField(
        label="Your full name", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    role = forms.CharField(
        label="Your role", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "organization-title"})
    )


class RequestChangesForm(forms.Form):
    comment = forms.CharField(
        label="What should change",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Your Thesmios commercial owner revises the order form and sends it to you again.",
    )


def previous_version(order_forms: list[OrderForm], order_form: OrderForm) -> OrderForm | None:
    """The version just before ``order_form`` among ``order_forms`` (any order)."""
    older = [o for o in order_forms if o.version < order_form.version]
    return max(older, key=lambda o: o.version) if older else None


def version_diff(order_form: OrderForm) -> OrderFormDiff:
    """``order_form`` against the version before it (one query)."""
    before = (
        OrderForm.objects.filter(tenant_id=order_form.tenant_id, version__lt=order_form.version)
        .order_by("-version")
        .first()
    )
    return diff_order_forms(before, order_form)


def changes_since_signed(data: TenantData) -> dict[str, Any] | None:
    """What changed between the version the current acceptance rests on and the newest
    version, or None when nothing was signed against an order form yet."""
    latest = data.latest_order_form
    stage = data.requested_stage()
    current = data.current_acceptance(stage)
    if latest is None or current is None or current.order_form_id is None:
        return None
    signed_against = next((o for o in data.order_forms if o.pk == current.order_form_id), None)
    if signed_against is None or signed_against.pk == latest.pk:
        return {"diff": None, "record": current, "signed_against": signed_against, "latest": latest}
    return {
        "diff": diff_order_forms(signed_against, latest),
        "record": current,
        "signed_against": signed_against,
        "latest": latest,
    }


def order_form_context(
    request: AuthenticatedHttpRequest, tenant: Tenant, role: str | None, **forms_: Any
) -> dict[str, Any]:
    data = load(tenant, with_output=False)
    latest = data.latest_order_form
    is_sponsor = role == MembershipRole.BUYER_SPONSOR
    reviewing = latest is not None and latest.status == OrderFormStatus.SENT
    name = request.user.get_full_name() if is_sponsor else ""
    return {
        "tenant": data.tenant,
        "role": role,
        "order_form": latest,
        "diff": diff_order_forms(previous_version(data.order_forms, latest), latest) if latest else None,
        "since_signed": changes_since_signed(data),
        "can_review": is_sponsor and reviewing,
        "can_request_changes": is_sponsor
        and latest is not None
        and latest.status in (OrderFormStatus.SENT, OrderFormStatus.APPROVED),
        "approve_form": forms_.get("approve_form") or ApproveOrderFormForm(initial={"name": name}),
        "changes_form": forms_.get("changes_form") or RequestChangesForm(),
        "refusals": forms_.get("refusals") or [],
    }


@never_cache
@login_required
@require_GET
def order_form(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant, role = tenant_for_user(request.user, slug)
    return render(request, "launchroom/order_form.html", order_form_context(request, tenant, role))


def _answer(
    request: AuthenticatedHttpRequest, tenant: Tenant, role: str | None, exc: Exception, **forms_: Any
) -> HttpResponse:
    if isinstance(exc, NotPermitted):
        raise PermissionDenied(str(exc))
    refusals = exc.reasons if isinstance(exc, Refused) else []
    if isinstance(exc, ValidationError):
        form = next(iter(forms_.values()))
        for name, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    context = order_form_context(request, tenant, role, refusals=refusals, **forms_)
    return render(request, "launchroom/order_form.html", context, status=409 if refusals else 400)


def _latest(tenant: Tenant) -> OrderForm | None:
    return OrderForm.objects.filter(tenant=tenant).select_related("tenant").order_by("-version").first()


@login_required
@require_POST
def order_form_approve(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor approves the version under review."""
    tenant, role = tenant_for_user(request.user, slug)
    if role != MembershipRole.BUYER_SPONSOR:
        raise PermissionDenied("Only the buyer sponsor approves the order form.")
    form = ApproveOrderFormForm(request.POST)
    latest = _latest(tenant)
    if not form.is_valid():
        return render(
            request,
            "launchroom/order_form.html",
            order_form_context(request, tenant, role, approve_form=form),
            status=400,
        )
    try:
        if latest is None:
            raise Refused("There is no order form to approve.")
        approved = order_form_buyer_approve(order_form=latest, by=request.user, **form.cleaned_data)
    except (Refused, ValidationError) as exc:
        return _answer(request, tenant, role, exc, approve_form=form)
    messages.success(
        request,
        f"You approved order form version {approved.version}. Thesmios records the signature with your approval "
        "as its reference.",
    )
    return redirect(reverse("launchroom:order_form", args=[tenant.slug]))


@login_required
@require_POST
def order_form_changes(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """The buyer sponsor sends the version back with a comment."""
    tenant, role = tenant_for_user(request.user, slug)
    if role != MembershipRole.BUYER_SPONSOR:
        raise PermissionDenied("Only the buyer sponsor requests changes to the order form.")
    form = RequestChangesForm(request.POST)
    latest = _latest(tenant)
    if not form.is_valid():
        return render(
            request,
            "launchroom/order_form.html",
            order_form_context(request, tenant, role, changes_form=form),
            status=400,
        )
    try:
        if latest is None:
            raise Refused("There is no order form to change.")
        changed = order_form_request_changes(order_form=latest, by=request.user, comment=form.cleaned_data["comment"])
    except (Refused, ValidationError) as exc:
        return _answer(request, tenant, role, exc, changes_form=form)
    messages.success(
        request,
        f"You asked for changes to order form version {changed.version}. Your comment is in the conversation, "
        "and your Thesmios commercial owner has been told.",
    )
    return redirect(reverse("launchroom:order_form", args=[tenant.slug]))
