"""Telling people: one in-app notification per recipient and event, e-mailed by preference.

``notify_many`` is the only writer of notifications; ``notify`` calls it for one event. It
runs inside the caller's transaction (so a rolled-back change tells nobody) and costs one query
however many recipients it tells, for up to 3,640 events: the recipients arrive as a queryset,
never evaluated here, and every row is written by one ``INSERT ... SELECT ... ON CONFLICT DO
NOTHING`` that joins the recipients with a VALUES list of the events (a change telling one event
pays one query; the reminder sweep, one per deciding role). ``event_key`` is unique per
recipient, so an event is told once however often the code that noticed it runs. E-mail is left
to background work, queued once per transaction when it commits.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Q, QuerySet
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


# The columns the insert writes, in order (how a row is e-mailed is decided later by the worker,
# from the recipient's preference, so every row starts as pending).
WRITTEN = ("recipient", "kind", "tenant", "event_key", "subject", "body", "link", "created_at", "delivery")
# What each event gives the insert: one row of the events' VALUES list, each text for staff and
# for customers (the insert picks one per recipient from their is_staff).
EVENT_COLUMNS = (
    *("kind", "tenant", "event_key"),
    *("subject_staff", "subject_customer", "body_staff", "body_customer", "link_staff", "link_customer"),
)
# SQLite's limit on a statement's parameters (32766 since 3.32; PostgreSQL's protocol allows
# 65535). Nine parameters an event: an insert tells up to 3,640 events, more take more inserts.
MAX_PARAMETERS = 32766


def _for_each_side(text: Text, limit: int | None) -> tuple[str, str]:
    """A text as staff and as customers read it."""
    if isinstance(text, BySide):
        return text.staff[:limit], text.customer[:limit]
    if not isinstance(text, str):
        raise TypeError(f"Expected a str or a BySide, got {type(text).__name__}.")
    return text[:limit], text[:limit]


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
    event = Event(kind=kind, tenant=tenant, event_key=event_key, subject=subject, body=body, link=link)
    return notify_many(recipients=recipients, events=[event])


def notify_many(*, recipients: QuerySet[Any], events: Sequence[Event]) -> int:
    """Tell each active recipient of each event, once, in one query: an ``INSERT ... SELECT``
    that joins the recipients with the events (one more for each further 3,640 events, see
    ``MAX_PARAMETERS``). Returns how many rows were written: 0 when everyone was already told
    (or nobody qualifies)."""
    if not isinstance(recipients, QuerySet) or recipients.model is not User:
        raise TypeError("Telling takes its recipients as a queryset of users (it is evaluated in the insert).")
    if recipients.query.is_empty() or not events:
        return 0
    db = router.db_for_write(Notification)
    connection = connections[db]
    fields = {f.name: f for f in Notification._meta.concrete_fields}
    # Only the recipients are compiled by the ORM (each active user once, with is_staff); the
    # events' values and the rest are parameters.
    who = recipients.filter(is_active=True).order_by().distinct().values(person=F("pk"), staff=F("is_staff"))
    who_sql, who_params = who.query.get_compiler(using=db).as_sql()
    quote = connection.ops.quote_name
    table, columns = quote(Notification._meta.db_table), ", ".join(quote(fields[n].column) for n in WRITTEN)
    unique = f"{quote(fields['recipient'].column)}, {quote(fields['event_key'].column)}"
    # The tenant is cast so that PostgreSQL types a column of NULLs as the key, not as text.
    key_type = fields["tenant"].db_type(connection)
    row = "(" + ", ".join(f"CAST(%s AS {key_type})" if c == "tenant" else "%s" for c in EVENT_COLUMNS) + ")"
    texts = ", ".join(
        f"CASE WHEN who.staff THEN ev.{t}_staff ELSE ev.{t}_customer END" for t in ("subject", "body", "link")
    )
    outer = [connection.ops.adapt_datetimefield_value(timezone.now()), Delivery.PENDING.value]
    per_insert = max(1, (MAX_PARAMETERS - len(outer) - len(who_params)) // len(EVENT_COLUMNS))
    created = 0
    with connection.cursor() as cursor:
        for start in range(0, len(events), per_insert):
            batch = events[start : start + per_insert]
            # Only quoted names, placeholders and the ORM's compiled SQL are put in the text; every
            # value is a parameter. The WHERE clause is there for SQLite, which needs one to tell
            # an upsert's ON from a join's.
            sql = (
                f"INSERT INTO {table} ({columns}) "  # noqa: S608
                f"WITH ev ({', '.join(EVENT_COLUMNS)}) AS (VALUES {', '.join([row] * len(batch))}) "
                f"SELECT who.person, ev.kind, ev.tenant, ev.event_key, {texts}, %s, %s FROM ({who_sql}) who "
                f"CROSS JOIN ev WHERE 1 = 1 ON CONFLICT ({unique}) DO NOTHING"
            )
            values = [value for event in batch for value in _values(event, fields)]
            cursor.execute(sql, [*values, *outer, *who_params])
            created += max(cursor.rowcount, 0)
    if created:
        deliver_after_commit(using=db)
    return created


def _values(event: Event, fields: dict[str, Any]) -> list[Any]:
    """One event's row of the VALUES list, in the order of ``EVENT_COLUMNS``."""
    return [
        event.kind,
        event.tenant.pk if event.tenant is not None else None,
        event.event_key[: fields["event_key"].max_length],
        *_for_each_side(event.subject, fields["subject"].max_length),
        *_for_each_side(event.body, None),
        *_for_each_side(event.link, fields["link"].max_length),
    ]


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
