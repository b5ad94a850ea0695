"""Periodic work without anyone starting it by hand.

django-tasks has no scheduler. ``run_scheduler`` wakes every few seconds and, for each job
whose period has begun, claims (job, period) with one insert under a unique key and enqueues
the job's task in the same transaction: two schedulers, a restart, or a slow worker never
run the same period twice, and a failed enqueue gives the period back. The jobs themselves
are idempotent too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

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
    from django.conf import settings

    from evidence import tasks as evidence_tasks
    from launchroom.notifications import events, tasks
    from launchroom.readiness import tasks as readiness_tasks

    return [
        Job("refresh_readiness", settings.READINESS_REFRESH_SECONDS, readiness_tasks.refresh_readiness.enqueue),
        Job("reminder_sweep", settings.REMINDER_SWEEP_SECONDS, events.reminder_sweep.enqueue),
        Job("daily_digest", 24 * 3600, tasks.daily_digest.enqueue),
        Job("sweep_pending_evidence", 3600, evidence_tasks.sweep_pending_evidence.enqueue),
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
