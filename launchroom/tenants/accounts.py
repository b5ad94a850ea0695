"""Customer accounts: invitations by e-mail, the set-password link, login and password reset.

Customers are users without the staff flag who hold a ``TenantMembership``. A commercial
owner invites one from the admin (``invite_buyer``); the buyer receives a one-time link,
valid ``INVITE_TIMEOUT_SECONDS``, where they choose a password. The link is signed with
its own salt, so it is single-use (it rests on the password hash, which setting a password
changes) and cannot be swapped for a password-reset link.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, validate_email
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.errors import NotPermitted, Refused
from core.events import audited
from core.history import records_actor
from core.types import User
from launchroom.mail.services import email_enqueue
from launchroom.models import EmailKind, MembershipRole, OutboundEmail, Tenant, TenantMembership
from launchroom.tenants.services import membership_add, membership_rules
from launchroom.tenants.throttling import email_throttle


class InviteTokenGenerator:
    """Set-password links for invited buyers: valid ``INVITE_TIMEOUT_SECONDS``, single-use.

    The token is the user's id signed with a ``TimestampSigner`` whose salt holds the user's
    password hash and e-mail address: setting the password (or changing the address) voids
    the link, and ``max_age`` expires it. ``InviteSetPasswordView`` calls ``check_token``.
    """

    salt = "thesmios.launchroom.accounts.invite"

    def signer(self, user: User) -> signing.TimestampSigner:
        return signing.TimestampSigner(salt=f"{self.salt}:{user.password}:{user.email}")

    def make_token(self, user: User) -> str:
        return self.signer(user).sign(str(user.pk))

    def check_token(self, user: User | None, token: str | None) -> bool:
        if not (user and token):
            return False
        try:
            return self.signer(user).unsign(token, max_age=settings.INVITE_TIMEOUT_SECONDS) == str(user.pk)
        except signing.BadSignature:  # a forged, altered, used or expired link
            return False


invite_token_generator = InviteTokenGenerator()


def invite_link(user: User, request: HttpRequest | None = None) -> str:
    """The absolute one-time set-password link for ``user``."""
    path = reverse(
        "invite_accept",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": invite_token_generator.make_token(user),
        },
    )
    if request is not None:
        return request.build_absolute_uri(path)
    base = settings.PORTAL_BASE_URL
    return base.rstrip("/") + path


def _timeout_words() -> str:
    seconds = int(settings.INVITE_TIMEOUT_SECONDS)
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _invitation_email(membership: TenantMembership, by: User, request: HttpRequest | None) -> tuple[str, str]:
    """The invitation's subject and body: a set-password link for a new account, a login link otherwise."""
    user = membership.user
    context = {
        "tenant": membership.tenant,
        "role": membership.get_role_display(),
        "invited_by": by.get_full_name() or by.get_username(),
        "expires": _timeout_words(),
        "username": user.get_username(),
    }
    if user.has_usable_password():
        context["login_url"] = (
            request.build_absolute_uri(reverse("login"))
            if request is not None
            else settings.PORTAL_BASE_URL.rstrip("/") + reverse("login")
        )
        template = "registration/invite_existing_email.txt"
    else:
        context["link"] = invite_link(user, request)
        template = "registration/invite_email.txt"
    subject = render_to_string("registration/invite_subject.txt", context).strip()
    return subject, render_to_string(template, context)


@records_actor()
@audited("invitation")
def invite_buyer(
    *, tenant: Tenant, email: str, role: str, by: User, request: HttpRequest | None = None
) -> TenantMembership:
    """Give ``email`` access to ``tenant``'s launch room with ``role``, and e-mail them.

    A new address gets a customer account with no usable password and a one-time
    set-password link; an existing customer is told they have access. The e-mail is sent
    once the membership is committed.
    """
    email = (email or "").strip()
    errors: dict[str, str] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter a valid e-mail address."
    if role not in MembershipRole.values:
        errors["role"] = f"Choose one of {', '.join(MembershipRole.values)}."
    if errors:
        raise ValidationError(errors)
    if not (getattr(by, "is_staff", False) and by.has_perm("launchroom.invite_buyer")):
        raise NotPermitted("Only a commercial owner invites buyers.")

    with transaction.atomic():
        email_throttle(scope="invitation", email=email, request=request)
        matches = list(User.objects.filter(email__iexact=email).order_by("pk")[:2])
        if len(matches) > 1:
            raise Refused(f"Several accounts use {email}; invite one of them by username in the admin.")
        user = matches[0] if matches else User.objects.filter(username__iexact=email).first()
        if user is not None:
            # The membership rules, before a new account is made for nothing.
            membership_rules(tenant=tenant, user=user, role=role)
        else:
            user = User(username=email.lower(), email=email)
            user.set_unusable_password()
            user.save()
        membership = membership_add(tenant=tenant, user=user, role=role, by=by, checked=True)

        subject, body = _invitation_email(membership, by, request)
        # Queued: sent by the worker after commit, retried, and marked failed where staff see it.
        email_enqueue(
            to=user.email, subject=subject, body=body, kind=EmailKind.INVITATION, tenant=tenant, membership=membership
        )
    return membership


def invitation_resend(*, membership: TenantMembership, by: User, request: HttpRequest | None = None) -> OutboundEmail:
    """E-mail a member's invitation again (after a failed send, or a lost e-mail), with a fresh link.

    Counted with the first invitations (``throttling.email_throttle``): Refused past a limit."""
    if not (getattr(by, "is_staff", False) and by.has_perm("launchroom.invite_buyer")):
        raise NotPermitted("Only a commercial owner re-sends invitations.")
    user = membership.user
    if not user.email:
        raise Refused(f"{user} has no e-mail address.")
    subject, body = _invitation_email(membership, by, request)
    with transaction.atomic():
        # The same rule as every e-mail a person can ask for again and again.
        email_throttle(scope="invitation", email=user.email, request=request)
        return email_enqueue(
            to=user.email,
            subject=subject,
            body=body,
            kind=EmailKind.INVITATION,
            tenant=membership.tenant,
            membership=membership,
        )


class BoundedUsernameMixin:
    """AuthenticationForm sets the username's ``max_length`` after the field is built, so no
    validator enforces it: a 256-character username reached ``authenticate()`` and the
    failed-login record (a 255-character column: a 500 on PostgreSQL). Enforce it here."""

    fields: dict[str, Any]
    username_field: Any

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit = self.username_field.max_length or 254
        self.fields["username"].validators.append(MaxLengthValidator(limit))


class LoginForm(BoundedUsernameMixin, auth_forms.AuthenticationForm):
    """Invited buyers' usernames are their e-mail addresses, in lower case."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Username or e-mail"

    def clean_username(self) -> str:
        username = self.cleaned_data.get("username", "")
        return username.strip().lower() if "@" in username else username


class AdminLoginForm(BoundedUsernameMixin, AdminAuthenticationForm):
    """The admin's login form, with the same bound on the username."""


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Also reaches invited buyers who never set a password (their invite may have expired).

    The e-mail is queued and sent by the worker, never inside the request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        with transaction.atomic():
            email_enqueue(to=to_email, subject=subject, body=body, kind=EmailKind.PASSWORD_RESET)

    def get_users(self, email: str) -> Iterator[User]:
        return (
            user
            for user in User._default_manager.filter(email__iexact=email, is_active=True)
            if user.email.casefold() == email.casefold()
        )


class InviteSetPasswordView(auth_views.PasswordResetConfirmView):
    """The invited buyer's one-time link: choose a password, then log in."""

    token_generator = invite_token_generator
    template_name = "registration/invite_set_password.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, "Your password is set. Log in with your username and the new password.")
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.user is not None:
            context["username"] = self.user.get_username()
        return context
