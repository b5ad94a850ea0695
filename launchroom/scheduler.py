"""Periodic work without anyone starting it by hand.

django-tasks has no scheduler. ``run_scheduler`` wakes every few seconds and, for each job
whose period has begun, claims (job, period) with one insert under a unique key and enqueues
the job's task in the same transaction: two schedulers, a restart, or a slow worker never
run the same period twice, and a failed enqueue gives the period back. The jobs themselves
are idempotent too.

django-tasks has no lease either: a worker killed mid-task (``kill -9``, out of memory, a lost
host) leaves its task ``RUNNING`` for ever. The ``recover_stranded`` job, every minute, takes up
each task still running ``TASK_LEASE_SECONDS`` after a worker claimed it: an e-mail delivery
is marked failed and its e-mail row decides (tried again within ``EMAIL_MAX_ATTEMPTS``, or
marked failed for staff to send again); any other task is put back in the queue, at most
``STRANDED_RETRIES`` times, then marked failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from core.history import system_task
from launchroom.mail import tasks as mail_tasks
from launchroom.models import ScheduledRun

log = logging.getLogger("thesmios.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    enqueue: Callable[[], object]

    def period(self, now: datetime) -> str:
        """The key of the period ``now`` falls in: the start of the period, in UTC."""
        start = int(now.timestamp()) // self.every_seconds * self.every_seconds
        return datetime.fromtimestamp(start, tz=now.tzinfo).strftime("%Y-%m-%dT%H:%M:%S")


def jobs() -> list[Job]:
    from evidence import tasks as evidence_tasks
    from launchroom.notifications import events, tasks
    from launchroom.readiness import tasks as readiness_tasks

    return [
        Job("refresh_readiness", settings.READINESS_REFRESH_SECONDS, readiness_tasks.refresh_readiness.enqueue),
        Job("reminder_sweep", settings.REMINDER_SWEEP_SECONDS, events.reminder_sweep.enqueue),
        Job("daily_digest", 24 * 3600, tasks.daily_digest.enqueue),
        Job("sweep_pending_evidence", 3600, evidence_tasks.sweep_pending_evidence.enqueue),
        Job("recover_stranded", 60, recover_stranded.enqueue),
    ]


def claim_and_enqueue(job: Job, now: datetime) -> bool:
    """Claim ``job``'s period of ``now`` and enqueue it, in one transaction; False when another
    scheduler (or an earlier tick) has that period. An enqueue that fails raises and rolls the
    claim back with it, so the period is not lost."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                ScheduledRun.objects.create(job=job.name, period=job.period(now))
        except IntegrityError:
            return False
        job.enqueue()
    return True


def tick(now: datetime, *, among: list[Job] | None = None) -> list[str]:
    """Enqueue every job whose current period is not yet claimed; return their names. A job
    whose enqueue fails is logged and tried again by the next tick; the others still run."""
    started = []
    for job in jobs() if among is None else among:
        try:
            if claim_and_enqueue(job, now):
                started.append(job.name)
        except Exception:
            log.exception("could not enqueue %s for %s; the next tick tries again", job.name, job.period(now))
    return started


# A task other than an e-mail delivery is claimed at most this many times more after its
# first worker stopped; a task that kills every worker that runs it then stops being retried.
STRANDED_RETRIES = 2


class LeaseExpired(Exception):
    """Recorded on a task whose worker stopped answering: it ran past ``TASK_LEASE_SECONDS``."""


@task()
@system_task
def recover_stranded() -> dict[str, int]:
    """The periodic job: take up every task and e-mail a stopped worker left behind."""
    return recover(timezone.now())


def recover(now: datetime) -> dict[str, int]:
    """Retry or fail each task ``RUNNING`` since before the lease, then close the e-mail
    attempts stopped workers left open (``mail.tasks.recover_stranded_email``). Returns counts."""
    cutoff = now - timedelta(seconds=settings.TASK_LEASE_SECONDS)
    counts = {"tasks_retried": 0, "tasks_failed": 0}
    email_ids: list[int] = []
    with transaction.atomic():
        stranded = DBTaskResult.objects.running().filter(started_at__lt=cutoff)
        for result in stranded.select_for_update(skip_locked=True):
            expired = LeaseExpired(
                f"still running {settings.TASK_LEASE_SECONDS} s after worker {result.worker_ids[-1:]} claimed it "
                f"at {result.started_at:%Y-%m-%d %H:%M:%S} UTC: the worker stopped"
            )
            if result.task_path == mail_tasks.send_email.module_path:
                email_ids.append(email_argument(result.args_kwargs))  # its e-mail row decides
                result.set_failed(expired)
                counts["tasks_failed"] += 1
            elif len(result.worker_ids) <= STRANDED_RETRIES:
                result.status = TaskResultStatus.READY  # claimed again by the next free worker
                result.save(update_fields=["status"])
                counts["tasks_retried"] += 1
            else:
                result.set_failed(expired)
                counts["tasks_failed"] += 1
    email = mail_tasks.recover_stranded_email(now=now, task_email_ids=email_ids)
    counts.update({"emails_retried": email["retried"], "emails_failed": email["failed"]})
    if any(counts.values()):
        log.warning("recovered what stopped workers left behind: %s", counts)
    return counts


def email_argument(args_kwargs: dict[str, Any]) -> int:
    """The e-mail id a ``send_email`` task was queued with."""
    args = args_kwargs.get("args") or []
    return int(args[0] if args else args_kwargs["kwargs"]["email_id"])
