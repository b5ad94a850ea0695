"""Telling people: one in-app notification per recipient and event, e-mailed by preference.

``notify`` is the only writer of notifications. It runs inside the caller's transaction
(so a rolled-back change tells nobody), writes every recipient's row in one insert, and
leaves e-mail to background work queued on commit. ``event_key`` is unique per recipient,
so an event is told once however often the code that noticed it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from core.types import User
from launchroom.catalog import Role
from launchroom.models import (
    Delivery,
    EmailMode,
    MembershipRole,
    Notification,
    NotificationPreference,
    Tenant,
    TenantMembership,
)


def staff_in_role(role: Role) -> QuerySet[Any]:
    """The active staff users in a role's group."""
    return User.objects.filter(is_active=True, is_staff=True, groups__name=role.value)


def tenant_members(tenant: Tenant, *roles: str) -> QuerySet[Any]:
    """The active customer users of a tenant with one of ``roles``."""
    return User.objects.filter(
        is_active=True, memberships__tenant=tenant, memberships__role__in=roles or MembershipRole.values
    )


def buyer_sponsors(tenant: Tenant) -> QuerySet[Any]:
    return tenant_members(tenant, MembershipRole.BUYER_SPONSOR)


def link_for(user: User, tenant: Tenant | None, *, room: str = "", staff: str = "") -> str:
    """Where a user acts on a tenant's event: buyers in their launch room, staff where they decide."""
    if tenant is None:
        return staff or room
    if getattr(user, "is_staff", False):
        return staff or reverse("admin:launchroom_tenant_change", args=[tenant.pk])
    return reverse("launchroom:room", args=[tenant.slug]) + room


def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    tenant: Tenant | None,
    event_key: str,
    subject: str,
    body: str,
    link: Callable[[Any], str] | str = "",
) -> int:
    """Tell each recipient of one event, once. Returns how many recipients there were."""
    users = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not users:
        return 0
    rows = [
        Notification(
            recipient_id=pk,
            kind=kind,
            tenant=tenant,
            event_key=event_key[:200],
            subject=subject[:300],
            body=body,
            link=(link(user) if callable(link) else link)[:500],
            # How it is e-mailed is decided by the worker, from the recipient's preference:
            # telling adds one query (this insert) to the change that caused it.
            delivery=Delivery.PENDING,
        )
        for pk, user in users.items()
    ]
    # One insert; a recipient already told of this event is skipped by the unique key.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(partial(_enqueue_event_delivery, event_key[:200]))
    return len(rows)


def _enqueue_event_delivery(event_key: str) -> None:
    from launchroom.notifications.tasks import deliver_event

    deliver_event.enqueue(event_key)


def visible_to(user: User) -> QuerySet[Notification]:
    """A user's notifications; a customer sees only those of tenants they are still a member of."""
    rows = Notification.objects.filter(recipient=user)
    if not user.is_staff:
        member = TenantMembership.objects.filter(user=user, tenant=OuterRef("tenant"))
        rows = rows.filter(Q(tenant__isnull=True) | Exists(member))
    return rows


def mark_all_read(*, user: User) -> int:
    from django.utils import timezone

    rows = list(visible_to(user).filter(read_at__isnull=True))
    now = timezone.now()
    for row in rows:
        row.read_at = now
    # Notifications are derived rows without history: a bulk write is allowed.
    Notification.objects.bulk_update(rows, ["read_at"])
    return len(rows)


def preference_save(*, user: User, email_mode: str) -> NotificationPreference:
    from django.core.exceptions import ValidationError

    if email_mode not in EmailMode.values:
        raise ValidationError({"email_mode": f"Choose one of {', '.join(EmailMode.values)}."})
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"email_mode": email_mode})
    return preference
