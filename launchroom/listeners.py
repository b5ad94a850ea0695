"""What launchroom does when a service announces a change (core/hooks.py).

Registered once at start-up by ``LaunchroomConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from core import hooks
from launchroom.impact import preview as impact
from launchroom.notifications.events import transition_happened
from launchroom.readiness import ledger, projection


@hooks.on_decision
def append_to_decision_log(row: Any) -> None:
    """Chain every announced decision row into its tenant's decision log, in the caller's
    transaction and under its tenant lock. Rows of kinds the log does not hold are left."""
    if type(row) in ledger.KIND_OF:
        ledger.append(row)


# The stored readiness row and its transitions, rewritten in the caller's transaction.
hooks.on_readiness_change(projection.on_readiness_change)

# Whom a readiness transition concerns is told in the same transaction.
hooks.on_transition(transition_happened)

# Impact before saving: the real service run and rolled back, for the admins below launchroom too.
hooks.on_impact_preview(impact.preview)
