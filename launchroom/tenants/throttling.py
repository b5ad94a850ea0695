"""Throttles on the e-mails a person can make the portal send again and again: password resets,
invitations and their resends, and the support owner's controlled status broadcast.

Each is counted per client address (by the trusted-proxy rule of ``access.client_address``)
and per recipient account (the e-mail address it goes to), in the database
(``core.throttle``) so every worker sees the same counts. Over a limit, nothing is sent and
the asker is told plainly. Unknown addresses are counted the same as known ones, so the
answer never says whether an account exists.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from core.errors import Refused
from core.events import log_event
from core.throttle import retry_after_seconds, throttle_hit
from launchroom.tenants.access import client_address

WHAT = {"password_reset": "password-reset e-mails", "invitation": "invitations", "broadcast": "status broadcasts"}


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def email_throttle(*, scope: str, email: str, request: HttpRequest | None) -> None:
    """Count one ``scope`` e-mail to ``email``, asked from ``request``'s address; Refused past a limit.

    Call it inside the transaction that sends: a refusal rolls the counts back with the rest.
    """
    window = settings.EMAIL_THROTTLE_WINDOW_SECONDS
    address = client_address(request) if request is not None else None
    what = WHAT.get(scope, scope)
    wait = _minutes(retry_after_seconds(window))
    if address and not throttle_hit(
        scope=f"{scope}:address", value=address, limit=settings.EMAIL_THROTTLE_PER_ADDRESS, window_seconds=window
    ):
        log_event("email_throttled", scope=scope, per="address", client_address=address, outcome="refused")
        raise Refused(f"Too many {what} were asked for from your address: nothing was sent. Try again in {wait}.")
    if not throttle_hit(
        scope=f"{scope}:account", value=email, limit=settings.EMAIL_THROTTLE_PER_ACCOUNT, window_seconds=window
    ):
        log_event("email_throttled", scope=scope, per="account", client_address=address, outcome="refused")
        raise Refused(f"Too many {what} went to this e-mail address lately: nothing was sent. Try again in {wait}.")


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, refused (429, on the form) past the e-mail throttles."""

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            with transaction.atomic():
                email_throttle(scope="password_reset", email=form.cleaned_data["email"], request=self.request)
                return super().form_valid(form)
        except Refused as exc:
            form.add_error("email", str(exc))
            response = self.form_invalid(form)
            response.status_code = 429
            response["Retry-After"] = str(retry_after_seconds(settings.EMAIL_THROTTLE_WINDOW_SECONDS))
            return response
