"""The gate catalog: the ten launch gates of docs/RULES.md section 3, as plain data.

Every page, API and check reads this package (``from launchroom import catalog``); no gate text
is written anywhere else. The vocabulary is in ``terms``; the gates' data in ``evidence_gates``
(an owner role accepts their evidence) and ``record_gates`` (the portal's records meet them).
Titles, summaries, owners, acceptance and "if missing" texts are the seed page's words.
"""

from __future__ import annotations

from launchroom.catalog.evidence_gates import EVIDENCE_GATES
from launchroom.catalog.record_gates import RECORD_GATES
from launchroom.catalog.terms import (
    BUYER,
    BUYER_IF_MISSING,
    DEFAULT_FRESHNESS,
    STANDING_EXCLUSIONS,
    Effect,
    Gate,
    Kind,
    Requirement,
    Role,
)

__all__ = [
    "BUYER",
    "BUYER_IF_MISSING",
    "DEFAULT_FRESHNESS",
    "GATES",
    "GATES_BY_KEY",
    "STANDING_EXCLUSIONS",
    "Effect",
    "Gate",
    "Kind",
    "Requirement",
    "Role",
    "attachment_requirement_choices",
    "gate",
    "requirement",
]


# The ten gates in docs/RULES.md section 3's order.
GATES: tuple[Gate, ...] = tuple(sorted((*EVIDENCE_GATES, *RECORD_GATES), key=lambda gate: gate.number))

GATES_BY_KEY: dict[str, Gate] = {gate.key: gate for gate in GATES}


def gate(key: str) -> Gate:
    return GATES_BY_KEY[key]


def requirement(gate_key: str, requirement_key: str) -> Requirement:
    return GATES_BY_KEY[gate_key].requirement(requirement_key)


def attachment_requirement_choices() -> list[tuple[str, str]]:
    """``gate/requirement`` choices for evidence forms, grouped by gate title."""
    return [
        (f"{g.key}/{r.key}", f"{g.number}. {g.title} · {r.label}") for g in GATES for r in g.attachment_requirements
    ]
