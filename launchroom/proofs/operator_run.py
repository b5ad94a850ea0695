"""One operator launch proof run: guards, seeding, the checks, the signed report, attaching.

The command ``operator_launch_proof`` and the demo (``launchroom.demo``) both call
``run_operator_proof`` and ``attach_outcome``; the demo passes an in-process session
(``launchroom.proofs.inprocess``) where the command talks ``requests`` to a server.

The proof JSON carries an HMAC-SHA256 ``signature`` under ``LAUNCH_OPERATIONS_SECRET``
over the canonical JSON of everything else (``verify_proof FILE`` checks it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import Refused
from core.hashing import canonical_json
from evidence.services import evidence_attach
from launchroom.models import OrderForm, Tenant
from launchroom.proofs.inprocess import ClientSession, expected_refusals, in_process_run
from launchroom.proofs.operator import (
    COMMAND,
    LOGIN_PATH,
    Proof,
    ProofPlan,
    Seeded,
    prove,
    retire_credentials,
    seed_fixture,
    tenant_plan,
)
from launchroom.proofs.smoke import PASSED, CheckFailed, SmokeRun, expect_status, report_bytes

CONFIRM_VARIABLE = "CONFIRM_OPERATOR_LAUNCH_PROOF"
CONFIRM_VALUE = "thesmios-operator-proof"
SEED_VARIABLE = "CONFIRM_LAUNCH_OPERATOR_SEED"
SEED_VALUE = "thesmios-launch-seed"
SECRET_VARIABLE = "LAUNCH_OPERATIONS_SECRET"
SIGNATURE_ALGORITHM = "HMAC-SHA256"

GATE5 = "tenant-access-proof"
ATTACH_TO = ((GATE5, "operator-seed-run"), (GATE5, "access-smoke"))
SNAPSHOT_REQUIREMENT = (GATE5, "launch-room-snapshot")
# Nothing goes to gate 6: its four fixtures (issuer, evidence job, audit export, privacy) run on
# the platform deployment. --include-fixtures adds this portal's own evidence and readiness
# isolation checks to the gate 5 proof, which is where their results are attached.


def operations_secret() -> str:
    return os.environ.get(SECRET_VARIABLE) or str(getattr(settings, SECRET_VARIABLE, "") or "")


def sign(body: dict[str, Any], secret: str) -> str:
    """HMAC-SHA256 over the canonical JSON (sorted keys, no whitespace) of ``body``."""
    return hmac.new(secret.encode(), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def signed(report: dict[str, Any], secret: str) -> dict[str, Any]:
    body = {k: v for k, v in report.items() if k != "signature"}
    return {**body, "signature": sign(body, secret)}


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = f"thesmios-{COMMAND}/{settings.PORTAL_VERSION}"
    return session


def require_signed_order_form(slug: str) -> Tenant:
    """The customer tenant ``slug``, refused unless it has a signed order-form version."""
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        raise Refused(f"operator_launch_proof refused: no tenant {slug!r}; nothing seeded")
    if not OrderForm.objects.filter(tenant=tenant).signed().exists():
        raise Refused(
            f"operator_launch_proof refused: the order form of {slug} is not signed, so its customer scope is not "
            "approved; nothing seeded or attached"
        )
    return tenant


@dataclass
class Outcome:
    run: SmokeRun
    seeded: Seeded
    proof: Proof
    report: dict[str, Any]

    @property
    def data(self) -> bytes:
        return report_bytes(self.report)


def run_operator_proof(
    *, run: SmokeRun, plan: ProofPlan, include_fixtures: bool, secret: str, session_factory: Callable[[], Any]
) -> Outcome:
    """Reach the portal, seed the plan's users, run the checks as them, disable them, sign."""
    if plan.for_customer:
        require_signed_order_form(plan.target_slug)
    # Reach the portal before touching the database: a dead URL changes nothing.
    run.session = session_factory()

    def portal() -> str:
        response = run.get(LOGIN_PATH)
        expect_status(response, 200)
        if 'name="csrfmiddlewaretoken"' not in response.text:
            raise CheckFailed("the page has no login form")
        return f"/{LOGIN_PATH}"

    reached = run.check("portal login page answers", portal)
    if reached.status != PASSED:
        raise Refused(f"{run.target} does not look like this portal: nothing seeded ({reached.detail})")
    seeded = seed_fixture(plan)
    if run.out is not None:
        run.out.write(
            f"Seeded fixture users for {plan.target_slug}: "
            + (", ".join(seeded.created) + " created" if seeded.created else "already present, passwords renewed")
            + "\n"
        )
    try:
        proof = prove(run, seeded, include_fixtures, session_factory)
    finally:
        retire_credentials(seeded)
    fixture: dict[str, Any] = {
        "tenant": plan.target_slug,
        "users": [
            {"as": f.key, "username": f.username, "tenant": f.tenant_slug, "role": str(f.role)} for f in plan.users
        ],
        "created": seeded.created,
        "passwords": "random for this run, never printed or stored; the accounts are disabled after the run",
    }
    if plan.other_slug is not None:
        fixture["other_tenant"] = plan.other_slug
    report = signed(
        run.report(
            kind="operator_launch_proof",
            scope="customer tenant" if plan.for_customer else "fixture tenant",
            fixture=fixture,
            include_fixtures=include_fixtures,
            launch_room_snapshot=proof.snapshot,
            signature_algorithm=SIGNATURE_ALGORITHM,
            signed_with=SECRET_VARIABLE,
        ),
        secret,
    )
    return Outcome(run, seeded, proof, report)


def snapshot_file(outcome: Outcome) -> bytes:
    """The authenticated launch-room snapshot as JSON: what the owner saw, as words, and its hash."""
    body = {
        "command": COMMAND,
        "kind": "launch_room_snapshot",
        "tenant": outcome.seeded.tenant.slug,
        "url": outcome.run.target,
        "captured_at": timezone.now().isoformat(),
        **outcome.proof.snapshot,
        "text": outcome.proof.snapshot_text,
        "proof_sha256": outcome.report["sha256"],
    }
    return json.dumps(body, indent=2, sort_keys=True).encode()


def attach_outcome(outcome: Outcome, data: bytes) -> list[str]:
    """Attach the signed proof (and, for a customer tenant, the snapshot) to gate 5 as the
    command's output; refused, with nothing attached, when any check failed."""
    run = outcome.run
    run.require_passed()
    tenant = outcome.seeded.tenant
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    files = [(target, f"operator-launch-proof-{stamp}.json", data) for target in ATTACH_TO]
    if outcome.seeded.plan.for_customer:
        files.append((SNAPSHOT_REQUIREMENT, f"launch-room-snapshot-{stamp}.json", snapshot_file(outcome)))
    attached = []
    # One transaction each: evidence_attach removes its own file when it fails, but an
    # enclosing rollback could not remove the files of the attachments before it.
    for (gate_key, requirement_key), name, content in files:
        evidence_attach(
            tenant=tenant,
            gate_key=gate_key,
            requirement_key=requirement_key,
            by=None,
            file=SimpleUploadedFile(name, content, "application/json"),
            produced_by_command=COMMAND,
            note=f"Signed ({SIGNATURE_ALGORITHM}) operator launch proof "
            + ("run in process (no server)" if run.in_process else f"against {run.base_url}"),
        )
        attached.append(f"{gate_key}/{requirement_key}")
    return attached


def prove_in_process(tenant: Tenant, *, include_fixtures: bool, secret: str) -> Outcome:
    """The tenant run without a server: the same checks through Django's test client.

    ``seed_demo`` builds gate 5 this way; the attachments are this command's real output,
    run over the portal's real routing, and say that they ran in process.
    """
    run = in_process_run(COMMAND)
    with expected_refusals():
        outcome = run_operator_proof(
            run=run,
            plan=tenant_plan(tenant.slug),
            include_fixtures=include_fixtures,
            secret=secret,
            session_factory=ClientSession,
        )
    attach_outcome(outcome, outcome.data)
    return outcome


DEMO_OPERATIONS_SECRET = "thesmios-demo-operations-secret"


def prove_if_signed(tenant: Tenant) -> bool:
    """The demo's gate 5: the proof in process, once the tenant's order form is signed, as the
    command requires; False (nothing done) otherwise."""
    if not OrderForm.objects.filter(tenant=tenant).signed().exists():
        return False
    prove_in_process(tenant, include_fixtures=True, secret=operations_secret() or DEMO_OPERATIONS_SECRET)
    return True
