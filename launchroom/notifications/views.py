"""The inbox at /notifications/: every logged-in user's notifications, read state and e-mail setting."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.types import AuthenticatedHttpRequest
from launchroom.models import EmailMode, NotificationPreference
from launchroom.notifications.services import mark_all_read, preference_save, visible_to

PAGE_SIZE = 25


class PreferenceForm(forms.Form):
    email_mode = forms.ChoiceField(label="E-mail me", choices=EmailMode.choices, widget=forms.RadioSelect)


@never_cache
@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            preference_save(user=user, email_mode=form.cleaned_data["email_mode"])
            messages.success(request, "Your e-mail setting is saved.")
            return HttpResponseRedirect(request.path)
    else:
        current = NotificationPreference.objects.filter(user=user).values_list("email_mode", flat=True).first()
        form = PreferenceForm(initial={"email_mode": current or EmailMode.AUTO})
    rows = visible_to(user).select_related("tenant")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"page": page, "form": form},
        status=200 if form.is_bound is False or form.is_valid() else 400,
    )


@never_cache
@login_required
def open_notification(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to the place to act on it."""
    row = get_object_or_404(visible_to(request.user), pk=pk)
    if row.read_at is None:
        row.read_at = timezone.now()
        row.save(update_fields=["read_at"])
    target = (
        row.link if url_has_allowed_host_and_scheme(row.link, allowed_hosts=None) and row.link else "/notifications/"
    )
    return HttpResponseRedirect(target)


@require_POST
@login_required
def read_all(request: AuthenticatedHttpRequest) -> HttpResponse:
    count = mark_all_read(user=request.user)
    messages.success(
        request, f"Marked {count} notification{'s' if count != 1 else ''} read." if count else "Nothing unread."
    )
    return HttpResponseRedirect("/notifications/")


def unread_count(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the unread count for the navigation, counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: visible_to(user).filter(read_at__isnull=True).count())}
