"""Deciding a gate with the evidence in view, and only the gates the user may decide.

The decide form (``launchroom/admin.py``) offers the gates whose "decided by" role the user
has (``has_role``, the rule ``gate_decide`` applies), shows every attachment each gate rests
on, and flags one file (one SHA-256) attached to several requirements. Rejecting or reopening
a gate is confirmed first when it would move readiness (``core.confirm``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import prefetch_related_objects

from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.catalog import Gate
from launchroom.models import GateDecisionKind, Tenant
from launchroom.readiness.evaluation import Readiness
from launchroom.readiness.services import gate_decide
from launchroom.readiness_admin.decisions import GateDecisionForm, unless_refused
from launchroom.tenants.services import has_role

# A decision that can take a gate's acceptance away is confirmed first.
CONFIRMED_DECISIONS = (GateDecisionKind.REJECTED, GateDecisionKind.REOPENED)


def decidable_gates(user: Any) -> list[Gate]:
    """The evidence gates this user may decide."""
    return [g for g in catalog.GATES if g.decided_by is not None and has_role(user, g.decided_by)]


def decide_form_class(user: Any) -> type[forms.Form]:
    """The decide form offering only the gates ``user`` may decide."""
    choices = [(g.key, f"{g.number}. {g.title}") for g in decidable_gates(user)]

    class DecideForm(GateDecisionForm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            field = self.fields["gate_key"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    return DecideForm


@dataclass(frozen=True)
class EvidenceRow:
    requirement: str
    state: str
    attachment: EvidenceAttachment | None
    also_on: list[str]  # the other requirements the same SHA-256 is attached to


@dataclass(frozen=True)
class GateEvidence:
    gate: Gate
    status: str
    rows: list[EvidenceRow]


def evidence_in_view(readiness: Readiness, gates: list[Gate]) -> list[GateEvidence]:
    """Each of ``gates`` with the attachments it rests on (what readiness read), each flagged
    when the same SHA-256 is attached to other requirements of the tenant."""
    by_sha: dict[str, list[str]] = defaultdict(list)
    for result in readiness.gates:
        for r in result.requirements:
            if r.attachment is not None:
                by_sha[r.attachment.sha256].append(f"gate {result.gate.number}: {r.requirement.label}")
    attachments = [r.attachment for g in readiness.gates for r in g.requirements if r.attachment is not None]
    prefetch_related_objects(attachments, "uploaded_by")
    shown = []
    for gate in gates:
        result = readiness.gate(gate.key)
        rows = []
        for r in result.requirements:
            here = f"gate {gate.number}: {r.requirement.label}"
            others = [] if r.attachment is None else [w for w in by_sha[r.attachment.sha256] if w != here]
            rows.append(EvidenceRow(r.requirement.label, r.state, r.attachment, others))
        shown.append(GateEvidence(gate, result.status, rows))
    return shown


def decide_previews(tenants: list[Tenant], data: dict[str, Any], by: Any) -> list[tuple[Tenant, Callable[[], Any]]]:
    """The runs to preview before a decision that could take an acceptance away; none otherwise."""
    if data.get("decision") not in CONFIRMED_DECISIONS:
        return []

    def run_for(tenant: Tenant) -> Callable[[], Any]:
        return unless_refused(
            lambda: gate_decide(
                tenant=tenant, gate_key=data["gate_key"], decision=data["decision"], note=data["note"], by=by
            )
        )

    return [(tenant, run_for(tenant)) for tenant in tenants]
