"""Telling people: one in-app notification per recipient and event, e-mailed by preference.

``notify_many`` is the only writer of notifications; ``notify`` calls it for one event. It
runs inside the caller's transaction (so a rolled-back change tells nobody) and costs two
queries however many recipients it tells: one reads the active recipients together with the
events each was already told, one ``bulk_create`` writes the rest (Django splits a very large
one into batches within the database's parameter limit). ``event_key`` is unique per
recipient, so an event is told once however often the code that noticed it runs. E-mail is
left to background work, queued once per transaction when it commits.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import router, transaction
from django.db.models import FilteredRelation, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from core.types import User
from launchroom.catalog import Role
from launchroom.models import (
    Delivery,
    EmailMode,
    MembershipRole,
    Notification,
    NotificationPreference,
    Tenant,
)


@dataclass(frozen=True)
class BySide:
    """Words or a link that differ by reader: ``staff`` for staff users, ``customer`` for the
    rest. The insert picks one per row from the recipient's ``is_staff``."""

    staff: str
    customer: str


Text = str | BySide


# Recipients: querysets of users, evaluated only inside the insert ---------------------------


def staff_in_role(role: Role) -> QuerySet[Any]:
    """The active staff users in a role's group."""
    return User.objects.filter(is_active=True, is_staff=True, groups__name=role.value)


def tenant_members(tenant: Tenant, *roles: str) -> QuerySet[Any]:
    """The active customer users of a tenant with one of ``roles`` (any role when none is given)."""
    return User.objects.filter(
        is_active=True, memberships__tenant=tenant, memberships__role__in=roles or MembershipRole.values
    )


def buyer_sponsors(tenant: Tenant) -> QuerySet[Any]:
    return tenant_members(tenant, MembershipRole.BUYER_SPONSOR)


def user_with_pk(pk: int | None) -> QuerySet[Any]:
    """One user by primary key (none for None), without reading the row: a tenant's
    ``commercial_owner_id`` names its commercial owner."""
    return User.objects.filter(pk=pk) if pk is not None else User.objects.none()


def anyone_of(*groups: QuerySet[Any]) -> QuerySet[Any]:
    """The users in any of ``groups``, each once."""
    parts = [Q(pk__in=group.values("pk")) for group in groups if not group.query.is_empty()]
    if not parts:
        return User.objects.none()
    return User.objects.filter(functools.reduce(operator.or_, parts))


def link_to(tenant: Tenant | None, *, room: str = "", staff: str = "") -> Text:
    """Where a reader acts on a tenant's event: customers in their launch room (``room`` is
    appended to its address), staff at ``staff`` or else the tenant's admin page."""
    if tenant is None:
        return staff or room
    return BySide(
        staff=staff or reverse("admin:launchroom_tenant_change", args=[tenant.pk]),
        customer=reverse("launchroom:room", args=[tenant.slug]) + room,
    )


# Telling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One event to tell: its kind and tenant, the key that makes it told once per recipient,
    and its words and link (the same for everyone, or ``BySide``)."""

    kind: str
    tenant: Tenant | None
    event_key: str
    subject: Text
    body: Text
    link: Text = ""

    def __post_init__(self) -> None:
        if not self.event_key:
            raise ValueError("An event needs an event key: it is what makes an event told once.")


def _for(text: Text, staff: bool) -> str:
    """A text as a staff user or a customer reads it."""
    if isinstance(text, BySide):
        return text.staff if staff else text.customer
    if not isinstance(text, str):
        raise TypeError(f"Expected a str or a BySide, got {type(text).__name__}.")
    return text


def notify(
    *,
    recipients: QuerySet[Any],
    kind: str,
    tenant: Tenant | None,
    event_key: str,
    subject: Text,
    body: Text,
    link: Text = "",
) -> int:
    """Tell each active recipient of one event, once, in two queries. Returns how many rows
    were written: 0 when everyone was already told (or nobody qualifies)."""
    event = Event(kind=kind, tenant=tenant, event_key=event_key, subject=subject, body=body, link=link)
    return notify_many(recipients=recipients, events=[event])


def notify_many(*, recipients: QuerySet[Any], events: Sequence[Event]) -> int:
    """Tell each active recipient of each event, once: one query reads the recipients with the
    events each was already told, one ``bulk_create`` writes the rest (two queries, one when
    there is nothing to write). Returns how many rows were written: 0 when everyone was
    already told (or nobody qualifies)."""
    if not isinstance(recipients, QuerySet) or recipients.model is not User:
        raise TypeError("Telling takes its recipients as a queryset of users (it is evaluated in one query).")
    if recipients.query.is_empty() or not events:
        return 0
    fields = {f.name: f for f in Notification._meta.concrete_fields}
    key_length, subject_length, link_length = (fields[name].max_length for name in ("event_key", "subject", "link"))
    keys = {event.event_key[:key_length] for event in events}
    # Each active recipient once per event it was already told, or once with None: the join
    # takes only this call's events.
    people = (
        recipients.filter(is_active=True)
        .annotate(told=FilteredRelation("notifications", condition=Q(notifications__event_key__in=keys)))
        .order_by()
        .distinct()
        .values_list("pk", "is_staff", "told__event_key")
    )
    is_staff: dict[int, bool] = {}
    done: set[tuple[int, str]] = set()
    for pk, staff, key in people:
        is_staff[pk] = staff
        if key is not None:
            done.add((pk, key))
    rows = []
    for event in events:
        key = event.event_key[:key_length]
        for pk, staff in is_staff.items():
            if (pk, key) in done:
                continue
            done.add((pk, key))
            rows.append(
                Notification(
                    recipient_id=pk,
                    kind=event.kind,
                    tenant=event.tenant,
                    event_key=key,
                    subject=_for(event.subject, staff)[:subject_length],
                    body=_for(event.body, staff),
                    link=_for(event.link, staff)[:link_length],
                    # How a row is e-mailed is decided by the worker, from the recipient's preference.
                    delivery=Delivery.PENDING,
                )
            )
    if not rows:
        return 0
    # A transaction telling the same event at the same moment may have written some of them:
    # the unique (recipient, event_key) keeps theirs.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    deliver_after_commit(using=router.db_for_write(Notification))
    return len(rows)


class _Once:
    """One delivery to queue, shared by the callbacks that ask for it; the first to run queues it."""

    queued = False

    def enqueue(self) -> None:
        if self.queued:
            return
        self.queued = True
        from launchroom.notifications.tasks import deliver_notifications

        deliver_notifications.enqueue()


# The delivery this thread's transaction asks for (connections are per thread).
_pending = threading.local()


def deliver_after_commit(*, using: str | None = None) -> None:
    """Queue the delivery of pending notifications when the transaction commits: once per
    transaction, however many events it told (the task delivers every pending row).

    Every call registers a callback with ``transaction.on_commit``; the callbacks registered
    since a delivery was last queued share one ``_Once``, so the first of them to run after the
    commit queues the task and the rest find it queued. A rolled-back transaction or savepoint
    drops its callbacks unrun, and its ``_Once`` serves the next transaction as if new."""
    once = getattr(_pending, "once", None)
    if once is None or once.queued:
        once = _pending.once = _Once()
    transaction.on_commit(once.enqueue, using=using)


# The inbox ------------------------------------------------------------------------------------


def visible_to(user: User) -> QuerySet[Notification]:
    """A user's notifications: those of no tenant, and those of the tenants they may still see."""
    return Notification.objects.filter(recipient=user).filter(
        Q(tenant__isnull=True) | Q(tenant__in=Tenant.objects.restrict(user))
    )


def mark_all_read(*, user: User) -> int:
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
