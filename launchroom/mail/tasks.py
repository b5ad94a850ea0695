"""Background work (Django's tasks API through django-tasks): e-mail delivery with retries.

django-tasks has no retry policy of its own: a failed send re-enqueues itself with
``run_after`` and a growing delay, up to ``EMAIL_MAX_ATTEMPTS``, then is marked failed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from launchroom.mail.services import enqueue_delivery, retry_delay
from launchroom.models import EmailStatus, OutboundEmail

log = logging.getLogger("thesmios.mail")


@task()
def send_email(email_id: int) -> str:
    """Send one queued e-mail; on failure try again later, or mark it failed past the limit."""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if row is None or row.status != EmailStatus.QUEUED:
            return "skipped"
        row.attempts += 1
        row.save(update_fields=["attempts"])
    message = EmailMultiAlternatives(subject=row.subject, body=row.body, to=[row.to])
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # any transport error: the worker must survive and retry
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= settings.EMAIL_MAX_ATTEMPTS:
            row.status = EmailStatus.FAILED
            row.failed_at = timezone.now()
            row.save(update_fields=["last_error", "status", "failed_at"])
            log.warning("e-mail %s to a %s recipient failed for good after %s attempts", row.pk, row.kind, row.attempts)
            return "failed"
        row.save(update_fields=["last_error"])
        enqueue_delivery(row.pk, delay=retry_delay(row.attempts))
        return "retry"
    row.status = EmailStatus.SENT
    row.sent_at = timezone.now()
    row.last_error = ""
    row.save(update_fields=["status", "sent_at", "last_error"])
    return "sent"
