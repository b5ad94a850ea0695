"""The demo's evidence: what each requirement's sample output says, who attaches it, who accepts it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.history import acting_as
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.catalog import Kind, Role
from launchroom.gates.services import gate_decide
from launchroom.models import (
    Tenant,
)
from launchroom.proofs.operator_run import prove_if_signed
from launchroom.support.services import status_broadcast_dry_run

# Which requirement's evidence is produced by a proof command (and so by nobody's hand).
COMMAND_FOR = {
    ("public-deployment", "launch-smoke"): "launch_proof_bundle",
    ("public-deployment", "api-smoke"): "launch_proof_bundle",
    ("public-deployment", "readiness-advisory"): "check_managed_beta_readiness",
    ("strict-proof-plan", "production-proof-json"): "launch_proof_bundle",
    ("strict-proof-plan", "production-proof-smoke"): "launch_proof_bundle",
    ("support-fallback", "broadcast-dry-run"): "status_broadcast_dry_run",
    ("support-fallback", "controlled-send"): "status_broadcast_send",
}


# Who attaches evidence that is not produced by a command: never the gate's decider.
HAND_UPLOADER = {
    "public-deployment": "security",
    "tenant-access-proof": "security",
    "credential-evidence-proof": "security",
    "security-procurement-pack": "operator",
}


# Gate 6's fixtures that only the platform deployment can run: the demo attaches sample output.
PLATFORM_FIXTURES = {"issuer-fixture", "evidence-fixture", "audit-export-fixture", "privacy-fixture"}


SAMPLE_NOTE = "Sample output for the demo: this fixture runs on the platform deployment, not in this portal."


GATE5 = "tenant-access-proof"


def evidence_content(tenant: Tenant, gate_key: str, requirement_key: str, captured: Any) -> bytes:
    """A realistic JSON output for one requirement, as a proof command would write it."""
    gate = catalog.gate(gate_key)
    requirement = gate.requirement(requirement_key)
    checks = [
        {"name": f"{requirement.label}: {part}", "status": "passed", "ms": 40 + i * 17}
        for i, part in enumerate(("reachable", "complete", "headers"))
    ]
    command = COMMAND_FOR.get((gate_key, requirement_key), "")
    body: dict[str, Any] = {
        "command": command or "manual",
        "tenant": tenant.slug,
        "gate": gate_key,
        "requirement": requirement_key,
        "url": "https://portal.thesmios.example",
        "started_at": captured.isoformat(),
        "checks": checks,
        "passed": len(checks),
        "failed": 0,
    }
    if not command and requirement_key in PLATFORM_FIXTURES | GATE5_REQUIREMENTS:
        body = {"sample": True, "label": "SAMPLE OUTPUT (demo data, not produced by this portal)", **body}
    return json.dumps(body, indent=2).encode()


GATE5_REQUIREMENTS = {"operator-seed-run", "access-smoke", "launch-room-snapshot"}


def attach_evidence(tenant: Tenant, staff: dict[str, Any], gate_key: str, *, age_days: int = 2) -> None:
    """Attach every applicable attachment requirement of one gate.

    Gate 5 comes from the operator proof run in process; without a signed order form (a
    test's bare tenant) its outputs are hand-uploaded samples. Gate 6's platform fixtures
    are hand-uploaded samples, except the evidence fixture the proof really ran.
    """
    gate = catalog.gate(gate_key)
    captured = timezone.now() - timedelta(days=age_days)
    with acting_as(staff["operator"]):  # the operator runs the proof
        proved = gate_key == GATE5 and prove_if_signed(tenant)
    by_command = EvidenceAttachment.objects.filter(tenant=tenant, gate_key=gate_key).exclude(produced_by_command="")
    already = set(by_command.values_list("requirement_key", flat=True))
    for requirement in gate.requirements:
        if requirement.kind != Kind.ATTACHMENT or proved:
            continue
        if requirement.configured_flag and not tenant.is_configured(requirement.configured_flag):
            continue
        if requirement.key in already and gate_key == "credential-evidence-proof":
            continue  # the operator proof's own output
        command = COMMAND_FOR.get((gate_key, requirement.key), "")
        uploader = staff[HAND_UPLOADER.get(gate_key, "operator")] if not command else staff["operator"]
        if gate_key == "support-fallback":
            uploader = staff["support"]
        if requirement.key == "broadcast-dry-run":
            # The support owner's real dry-run: renders the notice to every subscriber.
            status_broadcast_dry_run(tenant=tenant, by=staff["support"])
            continue
        if requirement.key == "deployment-url":
            evidence_attach(
                tenant=tenant,
                gate_key=gate_key,
                requirement_key=requirement.key,
                by=uploader,
                url="https://portal.thesmios.example",
                captured_at=captured,
            )
            continue
        content = evidence_content(tenant, gate_key, requirement.key, captured)
        upload = SimpleUploadedFile(f"{requirement.key}.json", content, content_type="application/json")
        evidence_attach(
            tenant=tenant,
            gate_key=gate_key,
            requirement_key=requirement.key,
            by=uploader,
            file=upload,
            captured_at=captured,
            produced_by_command=command,
            note="" if command or requirement.key not in PLATFORM_FIXTURES | GATE5_REQUIREMENTS else SAMPLE_NOTE,
        )


DECIDER = {Role.OPERATOR: "operator", Role.SECURITY: "security", Role.SUPPORT: "support"}


def accept_gate(tenant: Tenant, staff: dict[str, Any], gate_key: str) -> None:
    gate = catalog.gate(gate_key)
    assert gate.decided_by is not None
    gate_decide(
        tenant=tenant,
        gate_key=gate_key,
        decision="accepted",
        note=f"Reviewed the {gate.title.lower()} evidence; it meets the acceptance text.",
        by=staff[DECIDER[gate.decided_by]],
    )


EVIDENCE_GATES = [g.key for g in catalog.GATES if g.decided_by is not None]


def all_evidence_accepted(tenant: Tenant, staff: dict[str, Any]) -> None:
    for gate_key in EVIDENCE_GATES:
        attach_evidence(tenant, staff, gate_key)
        accept_gate(tenant, staff, gate_key)
