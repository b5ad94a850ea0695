"""Background work for stored readiness: the periodic refresh of the tenants past *valid until*."""

from __future__ import annotations

from django_tasks import task

from core.history import system_task
from launchroom.readiness import projection


@task()
@system_task
def refresh_readiness() -> int:
    """Re-evaluate every tenant whose stored readiness is due (idempotent: a second run finds none)."""
    return projection.refresh().evaluated
