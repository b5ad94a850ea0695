"""Queueing e-mail: the one way the portal sends mail.

``email_enqueue`` writes an ``OutboundEmail`` row in the caller's transaction and, once that
commits, enqueues its delivery as background work (``launchroom.mail.tasks.send_email``).
Nothing is sent inside a request, so an SMTP failure can never answer 500 or leave half a
change behind: it is retried with a growing delay and, past the limit, marked failed where
staff can see it and send it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction

from core.validation import one_line
from launchroom.mail.tasks import enqueue_delivery
from launchroom.models import OutboundEmail, Tenant, TenantMembership


def email_subject(text: str) -> str:
    """A subject as it is stored and sent: one line (``core.validation.one_line``) of at most
    300 characters, so no stored name can break a send with a header error."""
    return one_line(text)[:300]


def email_enqueue(
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    tenant: Tenant | None = None,
    membership: TenantMembership | None = None,
) -> OutboundEmail:
    """Queue one e-mail; it is handed to the worker when the caller's transaction commits."""
    row = OutboundEmail.objects.create(
        kind=kind,
        to=to,
        subject=email_subject(subject),
        body=body,
        tenant=tenant,
        membership=membership,
    )
    transaction.on_commit(partial(enqueue_delivery, row.pk))
    return row


def email_enqueue_many(
    *, messages: Iterable[tuple[str, str, str]], kind: str, tenant: Tenant | None = None
) -> list[OutboundEmail]:
    """Queue several e-mails, each ``(to, subject, body)``, in one insert; each is handed to the
    worker when the caller's transaction commits."""
    rows = OutboundEmail.objects.bulk_create(
        OutboundEmail(kind=kind, to=to, subject=email_subject(subject), body=body, tenant=tenant)
        for to, subject, body in messages
    )
    for row in rows:
        transaction.on_commit(partial(enqueue_delivery, row.pk))
    return rows
