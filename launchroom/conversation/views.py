"""The conversation in the launch room: the thread and the form to add to it."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import NotPermitted
from core.types import AuthenticatedHttpRequest, RequestUser
from launchroom import catalog
from launchroom.conversation.services import BODY_MAX, comment_add
from launchroom.models import Comment, OrderForm, Tenant
from launchroom.tenants.access import COMMENTING_ROLES, tenant_for_user


def subject_choices(order_forms: list[OrderForm]) -> list[tuple[str, str]]:
    """What a comment can be about: each order-form version (newest first), then each gate."""
    choices = [
        (f"order-form:{o.pk}", f"Order form version {o.version} ({o.get_status_display().lower()})")
        for o in sorted(order_forms, key=lambda o: -o.version)
    ]
    choices += [(f"gate:{g.key}", f"Gate {g.number}: {g.title}") for g in catalog.GATES]
    return choices


class CommentForm(forms.Form):
    subject = forms.ChoiceField(label="About")
    body = forms.CharField(label="Your comment", max_length=BODY_MAX, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, order_forms: list[OrderForm], **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["subject"]).choices = subject_choices(order_forms)
        self.order_forms = {o.pk: o for o in order_forms}

    def subject_kwargs(self) -> dict[str, Any]:
        kind, _, value = self.cleaned_data["subject"].partition(":")
        if kind == "gate":
            return {"gate_key": value}
        return {"order_form": self.order_forms[int(value)]}


def conversation_context(
    tenant: Tenant,
    user: RequestUser,
    role: str | None,
    *,
    order_forms: list[OrderForm] | None = None,
    initial: str = "",
) -> dict[str, Any]:
    """The thread (oldest first) and, for those who may write, the comment form."""
    comments = list(
        Comment.objects.filter(tenant=tenant).select_related("author", "order_form").order_by("created_at", "id")
    )
    if order_forms is None:
        order_forms = list(OrderForm.objects.filter(tenant=tenant).order_by("-version"))
    can_comment = bool(getattr(user, "is_staff", False)) or role in COMMENTING_ROLES
    form = CommentForm(order_forms=order_forms, initial={"subject": initial}) if can_comment else None
    return {"tenant": tenant, "comments": comments, "comment_form": form}


@login_required
@require_POST
def comment_post(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    tenant, _role = tenant_for_user(request.user, slug)
    order_forms = list(OrderForm.objects.filter(tenant=tenant))
    form = CommentForm(request.POST, order_forms=order_forms)
    back = request.POST.get("next") or ""
    target = back if back.startswith(f"/launch-room/{tenant.slug}/") else reverse("launchroom:room", args=[tenant.slug])
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[n].label}: {' '.join(str(m) for m in e)}" for n, e in form.errors.items() if n in form.fields
        )
        messages.error(request, f"Your comment was not added. {problems}")
        return redirect(target.split("#")[0] + "#conversation")
    try:
        comment_add(tenant=tenant, author=request.user, body=form.cleaned_data["body"], **form.subject_kwargs())
    except NotPermitted as exc:
        raise PermissionDenied(str(exc)) from None
    except ValidationError as exc:
        messages.error(request, "Your comment was not added. " + " ".join(exc.messages))
        return redirect(target.split("#")[0] + "#conversation")
    who = "the buyers" if request.user.is_staff else "the Thesmios team"
    messages.success(request, f"Your comment was added to the conversation, and {who} have been told.")
    return redirect(target.split("#")[0] + "#conversation")
