"""The launch conversation: comments by buyers and staff on a gate or an order-form version."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from core.errors import NotPermitted
from core.types import User
from launchroom import catalog
from launchroom.models import Comment, MembershipRole, OrderForm, Tenant, TenantMembership
from launchroom.tenants.services import _locked, membership_role

# Customers who may write in the conversation; viewers follow it.
COMMENTING_ROLES = {MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE}
BODY_MAX = 5000


def comment_add(
    *, tenant: Tenant, author: User, body: str, gate_key: str = "", order_form: OrderForm | None = None
) -> Comment:
    """Add a comment to the tenant's conversation about one gate or one order-form version,
    and tell the other side (staff when a buyer writes, the buyers when staff write)."""
    body = (body or "").strip()
    errors: dict[str, str] = {}
    if not body:
        errors["body"] = "Write a comment."
    elif len(body) > BODY_MAX:
        errors["body"] = f"Keep a comment under {BODY_MAX} characters."
    if bool(gate_key) == (order_form is not None):
        errors["subject"] = "Choose one gate or one order-form version to comment on."
    elif gate_key and gate_key not in catalog.GATES_BY_KEY:
        errors["subject"] = "There is no such gate."
    elif order_form is not None and order_form.tenant_id != tenant.pk:
        errors["subject"] = "That order form belongs to another tenant."
    if errors:
        raise ValidationError(errors)
    is_staff = bool(getattr(author, "is_staff", False))
    if not is_staff and membership_role(author, tenant) not in COMMENTING_ROLES:
        raise NotPermitted("Only the buyer sponsor, buyer finance and Thesmios staff write in the conversation.")
    with transaction.atomic():
        _locked(tenant)
        comment = Comment(tenant=tenant, author=author, body=body, gate_key=gate_key, order_form=order_form)
        comment.full_clean()
        comment.save()
        _tell_other_side(comment, from_staff=is_staff)
        return comment


def _tell_other_side(comment: Comment, *, from_staff: bool) -> None:
    """E-mail the other side once the comment is committed (the notifications system replaces this)."""
    tenant = comment.tenant
    if from_staff:
        recipients = [
            m.user.email
            for m in TenantMembership.objects.filter(tenant=tenant, role__in=COMMENTING_ROLES).select_related("user")
            if m.user.email and m.user.is_active
        ]
    else:
        recipients = _staff_for(comment)
    if not recipients:
        return
    who = comment.author.get_full_name() or comment.author.get_username()
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("launchroom:room", args=[tenant.slug]) + "#conversation"
    subject = f"{tenant}: {who} commented on {comment.subject}"
    body = f"{who} wrote about {comment.subject}:\n\n{comment.body}\n\nReply in the launch room: {url}\n"
    transaction.on_commit(lambda: send_mail(subject, body, None, sorted(set(recipients)), fail_silently=False))


def _staff_for(comment: Comment) -> list[str]:
    """The tenant's commercial owner and, for a gate, the staff of the role that decides it."""
    emails = []
    owner = comment.tenant.commercial_owner
    if owner is not None and owner.email:
        emails.append(owner.email)
    gate = catalog.GATES_BY_KEY.get(comment.gate_key)
    if gate is not None and gate.decided_by is not None:
        users = get_user_model().objects.filter(is_staff=True, is_active=True, groups__name=gate.decided_by.value)
        emails += [u.email for u in users if u.email]
    return emails
