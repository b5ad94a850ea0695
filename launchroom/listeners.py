"""What launchroom does when a service announces a change (core/hooks.py).

Registered once at start-up by ``LaunchroomConfig.ready``.
"""

from __future__ import annotations

from core import hooks
from launchroom.gates import projection

# The stored readiness row and its transitions, rewritten in the caller's transaction.
hooks.on_readiness_change(projection.on_readiness_change)
