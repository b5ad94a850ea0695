"""The demo's evidence: what produces each requirement's output, who attaches it, who accepts it.

A row that names a command (``produced_by_command``) is that command's real output, made now by
its own code: ``launch_proof_bundle`` and ``check_managed_beta_readiness`` run in process
(``launchroom.proofs.inprocess``: Django's test client over the portal's real URL routing, no
server; their reports say ``in-process``), the operator proof runs in process once the order
form is signed, and the broadcast dry run is the support owner's real dry run. Everything else
is a hand upload of *sample* output, labelled as a sample in its note (and in its JSON), by a
staff member other than the gate's decider (``HAND_UPLOADER``): gate 6's platform fixtures,
the controlled send (it would deliver real e-mail), gate 8's packs, the demo's production URL.

A real run cannot be dated back: given ``age_days`` (the freshness tests), every output of
the gate is a sample captured that many days ago.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.history import acting_as
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.catalog import Requirement, Role
from launchroom.models import Tenant
from launchroom.proofs import advisory, bundle
from launchroom.proofs.inprocess import expected_refusals, in_process_run
from launchroom.proofs.operator_run import prove_if_signed
from launchroom.proofs.smoke import SmokeRun, report_bytes
from launchroom.readiness.services import gate_decide
from launchroom.support.services import DRY_RUN_REQUIREMENT, status_broadcast_dry_run

GATE5 = "tenant-access-proof"
GATE7 = "support-fallback"

# The portal's own proof commands the demo runs in process: their checks and the file name
# they attach their report under.
RUNNERS: dict[str, tuple[Callable[[SmokeRun], dict[str, Any]], str]] = {
    bundle.COMMAND: (bundle.bundle_report, bundle.FILENAME),
    advisory.COMMAND: (advisory.readiness_report, advisory.FILENAME),
}

# Which requirement's output each of those commands attaches (the commands' own lists).
RUN_IN_PROCESS = {target: bundle.COMMAND for target in bundle.ATTACH_TO} | {
    target: advisory.COMMAND for target in advisory.ATTACH_TO
}

# Who attaches the samples of each gate by hand: never the gate's decider.
HAND_UPLOADER = {
    "public-deployment": "security",
    "strict-proof-plan": "security",
    "tenant-access-proof": "security",
    "credential-evidence-proof": "security",
    "support-fallback": "operator",
    "security-procurement-pack": "operator",
}

SAMPLE_NOTE = "Sample output for the demo, uploaded by hand"
SAMPLE_LABEL = "SAMPLE OUTPUT (demo data: no command of this portal produced it)"
SAMPLE_AGE_DAYS = 2
DEMO_URL = "https://portal.thesmios.example"

PLATFORM_FIXTURE = "this fixture runs on the platform deployment, not in this portal"
# Why each requirement the demo does not run is a sample.
SAMPLE_WHY = {
    "deployment-url": "the demo has no production domain",
    "issuer-fixture": PLATFORM_FIXTURE,
    "evidence-fixture": PLATFORM_FIXTURE,
    "audit-export-fixture": PLATFORM_FIXTURE,
    "privacy-fixture": PLATFORM_FIXTURE,
    "controlled-send": "a controlled send delivers real e-mail to the subscribers, which the demo does not",
    "security-assurance-pack": "the buyer reviews the packs outside this portal",
    "procurement-evidence-pack": "the buyer reviews the packs outside this portal",
    "operations-evidence-pack": "the buyer reviews the packs outside this portal",
    "dpia-or-risk-decision": "the buyer's DPIA decision is made outside this portal",
}
NOT_SIGNED = "the order form is not signed, so the operator proof does not run for this tenant"
DATED_BACK = "a real run cannot be dated back"


class Runs:
    """The in-process command runs of one tenant's build: each command runs once, when first
    needed, and its report is attached to each of its requirements as the command would."""

    def __init__(self) -> None:
        self.outputs: dict[str, bytes] = {}

    def output(self, command: str) -> bytes:
        if command not in self.outputs:
            checks, _name = RUNNERS[command]
            run = in_process_run(command)
            with expected_refusals():
                report = checks(run)
            run.require_passed()  # as the command: a failed run attaches nothing
            self.outputs[command] = report_bytes(report)
        return self.outputs[command]

    def attach(self, tenant: Tenant, target: tuple[str, str]) -> None:
        command = RUN_IN_PROCESS[target]
        data, name = self.output(command), RUNNERS[command][1]
        advisory.attach_report(tenant=tenant, data=data, filename=name, command=command, requirements=[target])


def sample_content(tenant: Tenant, gate_key: str, requirement: Requirement, captured: datetime, why: str) -> bytes:
    """What a sample says: that it is one, why, and what real output it stands in for."""
    body = {
        "sample": True,
        "label": SAMPLE_LABEL,
        "why": why,
        "stands_for": requirement.label,
        "real_output": requirement.action,
        "tenant": tenant.slug,
        "gate": gate_key,
        "requirement": requirement.key,
        "captured_at": captured.isoformat(),
    }
    return json.dumps(body, indent=2).encode()


def attach_sample(
    tenant: Tenant, staff: dict[str, Any], gate_key: str, requirement: Requirement, captured: datetime, why: str
) -> None:
    """A hand upload of sample output, labelled, by someone other than the gate's decider."""
    source: dict[str, Any] = (
        {"url": DEMO_URL}
        if requirement.key == "deployment-url"
        else {
            "file": SimpleUploadedFile(
                f"{requirement.key}.json",
                sample_content(tenant, gate_key, requirement, captured, why),
                content_type="application/json",
            )
        }
    )
    evidence_attach(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement.key,
        by=staff[HAND_UPLOADER[gate_key]],
        captured_at=captured,
        note=f"{SAMPLE_NOTE}: {why}.",
        **source,
    )


def attach_evidence(
    tenant: Tenant, staff: dict[str, Any], gate_key: str, *, age_days: int | None = None, runs: Runs | None = None
) -> None:
    """Attach every applicable attachment requirement of one gate.

    Without ``age_days`` the outputs the portal can produce are produced now, by their real
    code, and the rest are samples two days old; with it, everything is a sample that old.
    """
    gate = catalog.gate(gate_key)
    real = age_days is None
    captured = timezone.now() - timedelta(days=SAMPLE_AGE_DAYS if age_days is None else age_days)
    runs = runs or Runs()
    if real and gate_key == GATE5:
        with acting_as(staff["operator"]):  # the operator runs the proof
            if prove_if_signed(tenant):
                return
    for requirement in gate.attachment_requirements:
        if requirement.configured_flag and not tenant.is_configured(requirement.configured_flag):
            continue
        target = (gate_key, requirement.key)
        if real and target in RUN_IN_PROCESS:
            with acting_as(staff["operator"]):  # the operator runs the proof commands
                runs.attach(tenant, target)
        elif real and target == (GATE7, DRY_RUN_REQUIREMENT):
            # The support owner's real dry run: renders the notice to every subscriber.
            status_broadcast_dry_run(tenant=tenant, by=staff["support"])
        else:
            why = DATED_BACK if not real else NOT_SIGNED if gate_key == GATE5 else SAMPLE_WHY[requirement.key]
            attach_sample(tenant, staff, gate_key, requirement, captured, why)


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
    runs = Runs()  # one bundle run serves gates 1 and 2
    for gate_key in EVIDENCE_GATES:
        attach_evidence(tenant, staff, gate_key, runs=runs)
        accept_gate(tenant, staff, gate_key)
