"""What launchroom does when a service announces a change (core/hooks.py).

Registered once at start-up by ``LaunchroomConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from core import hooks
from launchroom.impact import preview as impact
from launchroom.models import TenantReadiness, new_room_version
from launchroom.notifications.events import transition_happened
from launchroom.readiness import ledger, projection


@hooks.on_decision
def append_to_decision_log(row: Any) -> None:
    """Chain every announced decision row into its tenant's decision log, in the caller's
    transaction and under its tenant lock. Rows of kinds the log does not hold are left."""
    if type(row) in ledger.KIND_OF:
        ledger.append(row)


# The stored readiness row (with a new room version) and its transitions, rewritten in the
# caller's transaction.
hooks.on_readiness_change(projection.on_readiness_change)

# Whom a readiness transition concerns is told in the same transaction.
hooks.on_transition(transition_happened)


@hooks.on_room_change
def renew_room_version(*, tenant_id: int) -> None:
    """A new room version for the tenant's stored readiness row, so the launch room's cached
    pages (launchroom/room/cache.py) are left behind; a tenant without a row has none cached."""
    TenantReadiness.objects.filter(tenant_id=tenant_id).update(room_version=new_room_version())


# Impact before saving: the real service run and rolled back, for the admins below launchroom too.
hooks.on_impact_preview(impact.preview)
hooks.on_readiness_seen(impact.seen_sha256)
# A change that moves nothing is saved by its one run; only one that moves readiness is confirmed.
hooks.on_keep_unless_changed(impact.keep_unless_changed)
