"""Background work (Django's tasks API through django-tasks): e-mail delivery with retries.

django-tasks has no retry policy of its own: a failed send re-enqueues itself with
``run_after`` and a growing delay, up to ``EMAIL_MAX_ATTEMPTS``, then is marked failed.

An attempt is written down (``attempts``, ``sending_since``) before the message leaves and
closed when it ends. A worker killed mid-send leaves ``sending_since`` behind: past the task
lease (``TASK_LEASE_SECONDS``) ``recover_stranded_email`` (the scheduler's ``recover_stranded``
job) counts that attempt as failed and tries again within the same limit, or marks the e-mail
failed, where staff see "E-mail failed" and can send it again. Each message carries a
Message-ID of its own row, so a receiver can tell the rare second copy (the server took the
message but the worker died before recording it) from a new message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from core.history import system_task
from core.validation import one_line
from launchroom.models import EmailStatus, OutboundEmail

log = logging.getLogger("thesmios.mail")


def lease() -> timedelta:
    """How long an attempt (a task) may run before its worker counts as gone."""
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


@task()
@system_task
def send_email(email_id: int) -> str:
    """Send one queued e-mail; on failure try again later, or mark it failed past the limit."""
    started = timezone.now()
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().filter(pk=email_id).first()
        if row is None or row.status != EmailStatus.QUEUED:
            return "skipped"
        if row.sending_since is not None:
            if row.sending_since > started - lease():
                return "in flight"  # another worker's attempt is under way
            if not close_stranded_attempt(row, started):
                return "failed"
        row.attempts += 1
        row.sending_since = started
        row.save(update_fields=["attempts", "sending_since"])
    message = EmailMultiAlternatives(
        subject=one_line(row.subject), body=row.body, to=[row.to], headers={"Message-ID": message_id(row)}
    )
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # any transport error: the worker must survive and retry
        return record_failure(email_id, started, f"{type(exc).__name__}: {exc}"[:2000])
    return record_sent(email_id, started)


def record_sent(email_id: int, started: datetime) -> str:
    """The attempt begun at ``started`` delivered the message (even one the recovery gave up on:
    the message went out, and the retry it queued finds it sent)."""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email_id)
        row.status = EmailStatus.SENT
        row.sent_at = timezone.now()
        row.last_error = ""
        row.sending_since = None
        row.save(update_fields=["status", "sent_at", "last_error", "sending_since"])
    return "sent"


def record_failure(email_id: int, started: datetime, error: str) -> str:
    """The attempt begun at ``started`` failed: try again later, or mark the e-mail failed."""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update().get(pk=email_id)
        if row.status != EmailStatus.QUEUED or row.sending_since != started:
            return "superseded"  # past the lease the recovery already retried or failed it
        row.last_error = error
        row.sending_since = None
        if row.attempts >= settings.EMAIL_MAX_ATTEMPTS:
            row.status = EmailStatus.FAILED
            row.failed_at = timezone.now()
            row.save(update_fields=["last_error", "sending_since", "status", "failed_at"])
            log.warning("e-mail %s to a %s recipient failed for good after %s attempts", row.pk, row.kind, row.attempts)
            return "failed"
        row.save(update_fields=["last_error", "sending_since"])
        enqueue_delivery(row.pk, delay=retry_delay(row.attempts))
    return "retry"


def close_stranded_attempt(row: OutboundEmail, now: datetime) -> bool:
    """Close the attempt a stopped worker left open on the locked ``row`` (or, with none open,
    the delivery task it never began): it counts as failed. True when the e-mail may be tried
    again, False when that was its last attempt and it is now marked failed."""
    if row.sending_since is not None:
        row.last_error = (
            f"The worker stopped during attempt {row.attempts} (begun {row.sending_since:%Y-%m-%d %H:%M:%S} UTC, "
            f"no outcome within the task lease of {settings.TASK_LEASE_SECONDS} s)."
        )
    else:
        row.last_error = f"The worker stopped before attempt {row.attempts + 1} began."
    row.sending_since = None
    if row.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        row.status = EmailStatus.FAILED
        row.failed_at = now
        row.save(update_fields=["last_error", "sending_since", "status", "failed_at"])
        log.warning("e-mail %s to a %s recipient failed for good: its worker stopped mid-send", row.pk, row.kind)
        return False
    row.save(update_fields=["last_error", "sending_since"])
    return True


def recover_stranded_email(*, now: datetime, task_email_ids: Iterable[int] = ()) -> dict[str, int]:
    """Close every attempt a stopped worker left open past the lease, and take up the e-mails
    of stranded delivery tasks (``task_email_ids``) that never began one: each is tried again
    within ``EMAIL_MAX_ATTEMPTS`` or marked failed. Returns the counts."""
    stranded = Q(sending_since__lt=now - lease()) | Q(pk__in=list(task_email_ids), sending_since__isnull=True)
    counts = {"retried": 0, "failed": 0}
    candidates = OutboundEmail.objects.filter(stranded, status=EmailStatus.QUEUED).values_list("pk", flat=True)
    for pk in list(candidates):
        with transaction.atomic():
            row = OutboundEmail.objects.select_for_update().filter(stranded, pk=pk, status=EmailStatus.QUEUED).first()
            if row is None:
                continue  # finished or taken up meanwhile
            if close_stranded_attempt(row, now):
                enqueue_delivery(row.pk)  # at once: the lease was a longer wait than the first delays
                counts["retried"] += 1
            else:
                counts["failed"] += 1
    return counts


def message_id(row: OutboundEmail) -> str:
    """The same Message-ID on every attempt of one e-mail."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "thesmios.local"
    return f"<outbound-{row.pk}.{int(row.created_at.timestamp())}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones: 30 s, 2 min, 8 min, ... (capped at 6 h)."""
    return timedelta(seconds=min(settings.EMAIL_RETRY_BASE_SECONDS * 4 ** (attempts - 1), 6 * 3600))


def enqueue_delivery(email_id: int, *, delay: timedelta | None = None) -> None:
    """Queue the delivery of one e-mail now, or after ``delay`` where the backend can defer."""
    task = send_email
    if delay is not None and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + delay)
    task.enqueue(email_id)
