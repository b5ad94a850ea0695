"""The words of readiness: gate statuses, decisions and requirement states (docs/RULES.md section 4).

Labels and colours come from the one status vocabulary (core/status.py).
"""

from __future__ import annotations

from core import status as vocabulary

MISSING = "missing"
STALE = "stale"
READY_FOR_REVIEW = "ready_for_review"
REJECTED = "rejected"
ACCEPTED = "accepted"
# Labels (and colours) come from the one status vocabulary.
STATUS_LABELS = {key: s.label for key, s in vocabulary.READINESS.items()}
GO = "go"
HOLD = "hold"

# Requirement states.
MET = "met"
# Gate 9: the buyer signed, the operator has not countersigned yet (docs/RULES.md 5.9).
AWAITING_COUNTERSIGNATURE = "awaiting_countersignature"
NOT_APPLICABLE = "not_applicable"
