"""Background work (Django's tasks API through django-tasks): e-mail delivery with retries.

django-tasks has no retry policy of its own: a failed send re-enqueues itself with
``run_after`` and a growing delay, up to ``EMAIL_MAX_ATTEMPTS``, then is marked failed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from core.history import system_task
from core.validation import one_line
from launchroom.models import EmailStatus, OutboundEmail

log = logging.getLogger("thesmios.mail")


@task()
@system_task
def send_email(email_id: int) -> str:
    """Send one queued e-mail; on failure try again later, or mark it failed past the limit."""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if row is None or row.status != EmailStatus.QUEUED:
            return "skipped"
        row.attempts += 1
        row.save(update_fields=["attempts"])
    message = EmailMultiAlternatives(subject=one_line(row.subject), body=row.body, to=[row.to])
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


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones: 30 s, 2 min, 8 min, ... (capped at 6 h)."""
    return timedelta(seconds=min(settings.EMAIL_RETRY_BASE_SECONDS * 4 ** (attempts - 1), 6 * 3600))


def enqueue_delivery(email_id: int, *, delay: timedelta | None = None) -> None:
    """Queue the delivery of one e-mail now, or after ``delay`` where the backend can defer."""
    task = send_email
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(email_id)
