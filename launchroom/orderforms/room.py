"""The buyer's review of the order form in the launch room, and what changed between versions.

``/launch-room/<slug>/order-form/`` shows the version under review, its diff against the
one before and against the version the current acceptance rests on; the buyer sponsor
approves it or requests changes there. The context builders here also feed the small
includes on the launch room and the acceptance form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

from core.admin import add_service_errors
from core.errors import NotPermitted, Refused
from core.events import refusals_logged
from core.types import AuthenticatedHttpRequest
from launchroom.models import OrderForm, OrderFormStatus, Tenant
from launchroom.orderforms.diff import OrderFormDiff, diff_order_forms
from launchroom.orderforms.services import order_form_buyer_approve, order_form_request_changes
from launchroom.readiness.selectors import TenantData, load
from launchroom.tenants.access import SIGNING_ROLES, tenant_for_user


# The forms parse the POST's shape; what is required, and who may answer, the services decide
# (their field errors land on these forms). ``required`` in the HTML only helps the browser.
class ApproveOrderFormForm(forms.Form):
    name = forms.CharField(
        label="Your full name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name", "required": True}),
    )
    role = forms.CharField(
        label="Your role",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title", "required": True}),
    )


class RequestChangesForm(forms.Form):
    comment = forms.CharField(
        label="What should change",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "required": True}),
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
    is_sponsor = role in SIGNING_ROLES
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
        add_service_errors(next(iter(forms_.values())), exc)
    context = order_form_context(request, tenant, role, refusals=refusals, **forms_)
    return render(request, "launchroom/order_form.html", context, status=409 if refusals else 400)


def _latest(tenant: Tenant) -> OrderForm | None:
    return OrderForm.objects.filter(tenant=tenant).select_related("tenant").order_by("-version").first()


@dataclass(frozen=True)
class Review:
    """One of the buyer's two answers to a version under review: its form, its service, its words."""

    form: type[forms.Form]
    form_name: str
    act: Callable[..., OrderForm]
    nothing: str
    done: str


REVIEWS = {
    "approve": Review(
        ApproveOrderFormForm,
        "approve_form",
        order_form_buyer_approve,
        "There is no order form to approve.",
        "You approved order form version {version}. Thesmios records the signature with your approval "
        "as its reference.",
    ),
    "changes": Review(
        RequestChangesForm,
        "changes_form",
        order_form_request_changes,
        "There is no order form to change.",
        "You asked for changes to order form version {version}. Your comment is in the conversation, "
        "and your Thesmios commercial owner has been told.",
    ),
}


@refusals_logged("order_form_review")  # refusals before the service too (membership, form)
@login_required
@require_POST
def order_form_review(request: AuthenticatedHttpRequest, slug: str, answer: str) -> HttpResponse:
    """The buyer sponsor approves the version under review or requests changes to it.

    Who may answer is the service's rule (``NotPermitted`` answers 403); a non-member never
    gets this far (404).
    """
    review = REVIEWS[answer]
    tenant, role = tenant_for_user(request.user, slug)
    form = review.form(request.POST)
    if not form.is_valid():  # its shape only (lengths): what is required is the service's rule
        context = order_form_context(request, tenant, role, **{review.form_name: form})
        return render(request, "launchroom/order_form.html", context, status=400)
    latest = _latest(tenant)
    try:
        if latest is None:
            raise Refused(review.nothing)
        answered = review.act(order_form=latest, by=request.user, **form.cleaned_data)
    except (Refused, ValidationError) as exc:
        return _answer(request, tenant, role, exc, **{review.form_name: form})
    messages.success(request, review.done.format(version=answered.version))
    return redirect(reverse("launchroom:order_form", args=[tenant.slug]))
