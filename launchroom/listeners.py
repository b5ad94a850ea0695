"""What launchroom does when a service announces a change (core/hooks.py).

Registered once at start-up by ``LaunchroomConfig.ready``.
"""

from __future__ import annotations
