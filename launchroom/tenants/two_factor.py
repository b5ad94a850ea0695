"""Two-factor authentication for staff: TOTP with recovery codes (django-otp).

Everyone logs in at ``/accounts/login/`` with username and password. With
``STAFF_REQUIRE_2FA`` on, a staff session is not *verified* until a one-time code is given
on a second page (``/accounts/two-factor/``); staff without an authenticator are sent to
enrol first (``/accounts/two-factor/setup/``: QR code and secret, confirm with a code, then
the recovery codes, shown once). Until then ``StaffTwoFactorMiddleware`` lets the session
reach only those pages and logout: not the admin, not a launch room, not the API. Buyers
are never asked. API bearer tokens are their own credential and are not asked either.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp import verify_token as otp_verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import Refused
from core.events import log_event, log_event_on_commit
from core.types import RequestUser, User

APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# Paths an unverified staff session may still reach: the second step itself, and the way out.
OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/static/", "/healthz")


def second_factor_required(user: RequestUser) -> bool:
    """True when ``user`` must give a one-time code before the session counts."""
    return bool(
        getattr(settings, "STAFF_REQUIRE_2FA", False) and getattr(user, "is_authenticated", False) and user.is_staff
    )


def is_verified(user: RequestUser) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


class StaffTwoFactorMiddleware:
    """Sends a staff session that has not given its one-time code to the second step."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not getattr(request, "api_token", False)
            and not request.path.startswith(OPEN_PREFIXES)
            and second_factor_required(request.user)
            and not is_verified(request.user)
        ):
            if request.path.startswith("/api/"):
                answer = {"error": "two-factor verification required", "verify": reverse("two_factor")}
                return JsonResponse(answer, status=401)
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


# Services --------------------------------------------------------------------------------


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator (created on first call, reused on reload)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
        return device


def two_factor_enrol(*, user: User, device_id: int, token: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm ``user``'s new authenticator with a code from it; returns it and new recovery codes.

    Refused when the code is wrong or the user already has a confirmed authenticator. The
    recovery codes replace any earlier ones and are returned once: only their device keeps them.
    """
    with transaction.atomic():
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise Refused("You already have an authenticator: log in with a code from it.")
        device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
        if device is None:
            raise Refused("This set-up has expired: start again.")
        # A wrong code leaves the transaction normally, so the device's failure count commits.
        verified = device.verify_token(token.strip())
        if verified:
            device.confirmed = True
            device.save()
            StaticDevice.objects.filter(user=user).delete()
            recovery = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
            codes = [StaticToken.random_token() for _ in range(settings.STAFF_RECOVERY_CODES)]
            StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
            log_event_on_commit("two_factor_enrol", actor=user, outcome="accepted")
    if not verified:
        log_event("two_factor_enrol", actor=user, outcome="refused")
        raise Refused("That code is not right. Type the six digits your app shows now.")
    return device, codes


def two_factor_check(*, user: User, token: str) -> Any:
    """The device that accepts ``token`` (an app code, or a recovery code, used up), or Refused."""
    token = token.strip().replace(" ", "")
    wanted = TOTPDevice if token.isascii() and token.isdigit() else StaticDevice
    for device in devices_for_user(user):
        if isinstance(device, wanted) and otp_verify_token(user, device.persistent_id, token):
            log_event("two_factor_verify", actor=user, outcome="accepted", device=wanted.__name__)
            return device
    log_event("two_factor_verify", actor=user, outcome="refused")
    raise Refused("That code is not right, or it was used already. Type the code your app shows now.")


# Views -----------------------------------------------------------------------------------


class CodeForm(forms.Form):
    otp_token = forms.CharField(
        label="One-time code",
        max_length=32,
        help_text="The six digits from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


def verified_login(request: HttpRequest, device: Any) -> None:
    """Mark the session verified by ``device`` under a new session key: the key issued after
    the password step must not become the key of the fully verified session (a key fixed or
    seen before the second factor would otherwise carry the staff session)."""
    otp_login(request, device)
    request.session.cycle_key()


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    # Inline, labelled for screen readers; no <?xml?> prologue, no style (the CSP allows none).
    return svg.replace("<svg ", '<svg role="img" aria-label="QR code of your authenticator secret" ', 1)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@sensitive_post_parameters("otp_token")
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of a staff login: a code from the authenticator, or a recovery code."""
    user = request.user
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': _next_url(request)})}")
    if not user.is_staff or is_verified(user):
        return redirect(_next_url(request))
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect(f"{reverse('two_factor_setup')}?{urlencode({'next': _next_url(request)})}")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_check(user=user, token=form.cleaned_data["otp_token"])
        except Refused as exc:
            form.add_error("otp_token", str(exc))
            status = 400
        else:
            verified_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request, f"You used a recovery code; {left} left. Each code works once: keep the rest safe."
                )
            return redirect(_next_url(request))
    elif request.method == "POST":
        status = 400
    return render(
        request, "registration/two_factor_verify.html", {"form": form, "next": _next_url(request)}, status=status
    )


@never_cache
@sensitive_post_parameters("otp_token")
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: QR code and secret, confirm with a code, then the recovery codes once."""
    user = request.user
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
    if not user.is_staff or TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect(f"{reverse('two_factor')}?{urlencode({'next': _next_url(request)})}")
    device = totp_device_for_enrolment(user=user)
    form = CodeForm(request.POST or None)
    form.fields["otp_token"].help_text = "The six digits your app shows for Thesmios now."
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = two_factor_enrol(user=user, device_id=device.pk, token=form.cleaned_data["otp_token"])
        except Refused as exc:
            form.add_error("otp_token", str(exc))
            status = 400
        else:
            verified_login(request, device)
            shown = {"codes": codes, "next": _next_url(request)}
            return render(request, "registration/two_factor_recovery_codes.html", shown)
    elif request.method == "POST":
        status = 400
    secret = b32encode(device.bin_key).decode()
    context: dict[str, Any] = {
        "form": form,
        "next": _next_url(request),
        "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - generated by qrcode from our own URL
        "secret": _grouped(secret),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return render(request, "registration/two_factor_setup.html", context, status=status)
