"""Background work for evidence: the sweep of uploads whose replacement was never confirmed."""

from __future__ import annotations

from django_tasks import task

from core.history import system_task
from evidence import pending


@task()
@system_task
def sweep_pending_evidence() -> list[str]:
    """Delete the stashed uploads older than ``EVIDENCE_PENDING_MAX_AGE_SECONDS`` (confirmation
    pages left open); the stored names it deleted. Idempotent: a second run finds none."""
    return pending.sweep()
