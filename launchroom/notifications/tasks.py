"""Background work for notifications: e-mail delivery, the reminder sweep and the daily digest.

Each task is idempotent: the unique (recipient, event) key and the delivery state of each
notification make a second run of the same work a no-op.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task

from core.history import system_task
from launchroom.mail.services import email_enqueue
from launchroom.models import ACTION_KINDS, Delivery, EmailKind, EmailMode, Notification, NotificationPreference


def _absolute(link: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + link if link.startswith("/") else link


def delivery_for(kind: str, mode: str) -> str:
    if mode == EmailMode.OFF:
        return Delivery.NONE
    if mode == EmailMode.IMMEDIATE or (mode == EmailMode.AUTO and kind in ACTION_KINDS):
        return Delivery.IMMEDIATE
    return Delivery.DIGEST_PENDING


@task()
@system_task
def deliver_notifications() -> int:
    """Deliver every pending notification by its recipient's preference: e-mail those due at
    once (once each), leave the rest for the digest or in-app only. Returns the e-mails queued.

    Queued once per transaction that told anyone; a run that finds nothing pending (another
    worker took the rows) does nothing."""
    sent = 0
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient", "tenant")
            .filter(delivery=Delivery.PENDING)
            .order_by("pk")
        )
        modes = dict(
            NotificationPreference.objects.filter(user_id__in={r.recipient_id for r in rows}).values_list(
                "user_id", "email_mode"
            )
        )
        for row in rows:
            row.delivery = delivery_for(row.kind, modes.get(row.recipient_id, EmailMode.AUTO))
            if row.delivery == Delivery.IMMEDIATE and row.recipient.email:
                body = render_to_string(
                    "notifications/email.txt",
                    {"notification": row, "url": _absolute(row.link), "inbox": _absolute("/notifications/")},
                )
                row.email = email_enqueue(
                    to=row.recipient.email,
                    subject=row.subject,
                    body=body,
                    kind=EmailKind.NOTIFICATION,
                    tenant=row.tenant,
                )
                sent += 1
        # Derived rows: a bulk write is allowed (no history).
        Notification.objects.bulk_update(rows, ["delivery", "email"])
    return sent


@task()
@system_task
def daily_digest() -> int:
    """One e-mail per user gathering the notifications waiting for their digest."""
    return send_digests(now=timezone.now())


def send_digests(*, now: datetime) -> int:
    sent = 0
    with transaction.atomic():
        pending = list(
            Notification.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(delivery=Delivery.DIGEST_PENDING, created_at__lte=now)
            .order_by("recipient_id", "created_at")
        )
        by_user: dict[int, list[Notification]] = {}
        for row in pending:
            by_user.setdefault(row.recipient_id, []).append(row)
        for rows in by_user.values():
            recipient = rows[0].recipient
            if recipient.email:
                body = render_to_string(
                    "notifications/digest.txt",
                    {"rows": [(r, _absolute(r.link)) for r in rows], "inbox": _absolute("/notifications/")},
                )
                email_enqueue(
                    to=recipient.email,
                    subject=f"Thesmios launch operations: {len(rows)} update{'s' if len(rows) != 1 else ''}",
                    body=body,
                    kind=EmailKind.DIGEST,
                )
                sent += 1
            for row in rows:
                row.delivery = Delivery.DIGESTED
        # Derived rows: a bulk write is allowed (no history).
        Notification.objects.bulk_update(pending, ["delivery"])
    return sent
