"""Telling people: one in-app notification per recipient and event, e-mailed by preference.

``notify`` is the only writer of notifications. It runs inside the caller's transaction
(so a rolled-back change tells nobody) and costs that change one query per event: the
recipients arrive as a queryset, never evaluated here, and every recipient's row is written
by one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. ``event_key`` is unique per
recipient, so an event is told once however often the code that noticed it runs. E-mail is
left to background work, queued once per transaction when it commits.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
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
    TenantMembership,
)


@dataclass(frozen=True)
class BySide:
    """Words or a link that differ by reader: ``staff`` for staff users, ``customer`` for the
    rest. The insert picks one per row from the recipient's ``is_staff``."""

    staff: str
    customer: str


Text = str | BySide


# Recipients: querysets of users, evaluated only inside notify()'s insert ------------------


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


def _per_reader(text: Text, limit: int | None) -> tuple[str, list[str]]:
    """SQL (and its parameters) for one text column: the same for everyone, or chosen per row
    by the recipient's ``is_staff``."""
    if isinstance(text, BySide):
        return "CASE WHEN who.staff THEN %s ELSE %s END", [text.staff[:limit], text.customer[:limit]]
    if not isinstance(text, str):
        raise TypeError(f"Expected a str or a BySide, got {type(text).__name__}.")
    return "%s", [text[:limit]]


# The columns notify() writes, in order (how a row is e-mailed is decided later by the worker,
# from the recipient's preference, so every row starts as pending).
WRITTEN = ("recipient", "kind", "tenant", "event_key", "subject", "body", "link", "created_at", "delivery")


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
    """Tell each active recipient of one event, once, in one query. Returns how many rows were
    written: 0 when everyone was already told (or nobody qualifies)."""
    if not isinstance(recipients, QuerySet) or recipients.model is not User:
        raise TypeError("notify() takes its recipients as a queryset of users (it is evaluated in the insert).")
    if not event_key:
        raise ValueError("notify() needs an event key: it is what makes an event told once.")
    if recipients.query.is_empty():
        return 0
    db = router.db_for_write(Notification)
    connection = connections[db]
    fields = {f.name: f for f in Notification._meta.concrete_fields}
    # Only the recipients are compiled by the ORM (each active user once, with is_staff); the
    # event's values are parameters of the outer SELECT.
    who = recipients.filter(is_active=True).order_by().distinct().values(person=F("pk"), staff=F("is_staff"))
    who_sql, who_params = who.query.get_compiler(using=db).as_sql()
    texts = [
        _per_reader(subject, fields["subject"].max_length),
        _per_reader(body, None),
        _per_reader(link, fields["link"].max_length),
    ]
    quote = connection.ops.quote_name
    table, columns = quote(Notification._meta.db_table), ", ".join(quote(fields[n].column) for n in WRITTEN)
    unique = f"{quote(fields['recipient'].column)}, {quote(fields['event_key'].column)}"
    # Only quoted names and the ORM's compiled SQL are put in the text; every value is a parameter.
    # The WHERE clause is there for SQLite, which needs one to tell an upsert's ON from a join's.
    sql = (
        f"INSERT INTO {table} ({columns}) "  # noqa: S608
        f"SELECT who.person, %s, %s, %s, {', '.join(t for t, _ in texts)}, %s, %s FROM ({who_sql}) who "
        f"WHERE 1 = 1 ON CONFLICT ({unique}) DO NOTHING"
    )
    params = [
        kind,
        tenant.pk if tenant is not None else None,
        event_key[: fields["event_key"].max_length],
        *(p for _, text_params in texts for p in text_params),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        Delivery.PENDING.value,
        *who_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        created = max(cursor.rowcount, 0)
    if created:
        deliver_after_commit(using=db)
    return created


def deliver_after_commit(*, using: str | None = None) -> None:
    """Queue the delivery of pending notifications when the transaction commits: once per
    transaction, however many events it told (the task delivers every pending row)."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block and _delivery_queued(connection):
        return
    transaction.on_commit(_enqueue_delivery, using=using)


def _delivery_queued(connection: Any) -> bool:
    """Whether this transaction already queues the delivery. A callback stays in
    ``run_on_commit`` until the transaction ends, and leaves it with a rolled-back savepoint
    (and the rows told inside it). The transaction is the outermost atomic block; inside
    Django's test cases, which wrap each test in blocks of their own (as Django's durable
    check knows), it is the first block opened inside theirs."""
    blocks = connection.atomic_blocks
    harness = max((i for i, block in enumerate(blocks) if getattr(block, "_from_testcase", False)), default=-1)
    if harness + 1 >= len(blocks):
        return False  # no transaction of its own (a test calling notify() directly): each call queues
    # savepoint_ids[i] belongs to atomic_blocks[i + 1]; the outermost block has none.
    savepoint = connection.savepoint_ids[harness] if harness >= 0 else None
    return any(
        func is _enqueue_delivery and (harness < 0 or savepoint in sids) for sids, func, _ in connection.run_on_commit
    )


def _enqueue_delivery() -> None:
    from launchroom.notifications.tasks import deliver_notifications

    deliver_notifications.enqueue()


# The inbox ------------------------------------------------------------------------------------


def visible_to(user: User) -> QuerySet[Notification]:
    """A user's notifications; a customer sees only those of tenants they are still a member of."""
    rows = Notification.objects.filter(recipient=user)
    if not user.is_staff:
        member = TenantMembership.objects.filter(user=user, tenant=OuterRef("tenant"))
        rows = rows.filter(Q(tenant__isnull=True) | Exists(member))
    return rows


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
