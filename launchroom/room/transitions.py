"""The launch room's "how your readiness changed": the tenant's transitions, in the buyer's words
(``readiness/words.py``, the wording the transitions API gives a buyer too).

Only the room of the tenant being viewed calls this (``tenant_for_user`` has already checked
membership), so a buyer sees their own tenant's transitions and no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from launchroom.models import ReadinessTransition, Tenant
from launchroom.readiness import words

SHOWN = 50


@dataclass
class TransitionRow:
    when: datetime
    headline: str
    decision: str
    why: str
    gates: list[str]


def timeline_rows(tenant: Tenant, limit: int = SHOWN) -> list[TransitionRow]:
    """The newest transitions of this tenant, in the buyer's words (one query)."""
    rows = ReadinessTransition.objects.filter(tenant=tenant).order_by("-at", "-id")[:limit]
    return [
        TransitionRow(
            when=r.at,
            headline=words.headline(r),
            decision=r.decision_after,
            why=words.why(r),
            gates=words.gate_lines(r),
        )
        for r in rows
    ]
