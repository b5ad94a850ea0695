"""The public page's words around the gates: headline, decision texts and the proof commands."""

from __future__ import annotations

from dataclasses import dataclass

from launchroom.catalog import GATES, STANDING_EXCLUSIONS

# The seed page's words around the gates.
PAGE = {
    "title": "Managed beta readiness",
    "tagline": "Invoice-led launch path for design partners.",
    "lead": "The public platform can support a managed private beta or invoice-led paid beta when customer scope, "
    "operator fixture evidence, manual billing, support fallback, and launch acceptance are attached. This is "
    "not strict self-serve or broad enterprise readiness.",
    "decision_heading": "Launchable with named evidence, not by default.",
    "decision_lead": "Managed beta is a controlled sales motion: named buyer, scoped order form, invoice or manual "
    "billing fallback, operator-run fixture proof, support fallback, and a signed customer acceptance record.",
    "go": "Launch a managed private beta or invoice-led paid beta only when public checks pass, scope is signed, "
    "billing fallback is accepted, access proof is attached, and customer acceptance is recorded.",
    "hold": "Hold the tenant in setup when customer scope, billing owner, operator fixture output, procurement "
    "approval, or launch acceptance is missing.",
    "do_not_claim": "Do not claim self-serve paid checkout, broad enterprise SSO/SCIM, official issuer automation, "
    "external malware scanning, or external certifications until those separate proof tracks pass.",
    "commands_lead": "Evidence commands for the managed launch record.",
    "commands_note": "Run the public command before buyer review. Run mutating fixture commands only after the "
    "operator seed and customer scope are approved.",
    "boundary_heading": "Self-serve remains gated.",
    "boundary": "This pack makes invoice-led launch credible for design partners. It does not clear Stripe "
    "self-serve checkout, broad enterprise SSO or SCIM, HRIS automation, official issuer coverage, or external "
    "certification claims.",
}


@dataclass(frozen=True)
class ProofCommand:
    name: str
    title: str
    summary: str
    command: str


COMMANDS: tuple[ProofCommand, ...] = (
    ProofCommand(
        "check_managed_beta_readiness",
        "Managed beta readiness smoke",
        "Managed beta page and JSON endpoint are deployed and complete.",
        "THESMIOS_SMOKE_URL=https://portal.example python manage.py check_managed_beta_readiness",
    ),
    ProofCommand(
        "launch_proof_bundle",
        "Launch proof bundle",
        "Public launch, API, evidence pack, launch room, and readiness checks pass without mutating fixtures.",
        "THESMIOS_SMOKE_URL=https://portal.example python manage.py launch_proof_bundle "
        "--output /tmp/thesmios-public-launch-proof.json",
    ),
    ProofCommand(
        "operator_launch_proof",
        "Operator launch proof runner",
        "Production fixture IDs, authenticated proof output, and one attachable launch proof JSON bundle for "
        "managed beta acceptance.",
        "CONFIRM_OPERATOR_LAUNCH_PROOF=thesmios-operator-proof LAUNCH_OPERATIONS_SECRET=<secret> "
        "CONFIRM_LAUNCH_OPERATOR_SEED=thesmios-launch-seed THESMIOS_SMOKE_URL=https://portal.example "
        "python manage.py operator_launch_proof --tenant <slug> --seed --include-fixtures",
    ),
)

PLATFORM_FIXTURE_NOTE = (
    "Runs on the Thesmios platform deployment, not in this portal; the operator attaches its output here as evidence."
)

# The seed names npm scripts of the platform; beside each one, what does that job in this
# portal, or a plain note that it runs on the platform deployment (docs/RULES.md section 10).
PORTAL_EQUIVALENTS: dict[str, str] = {
    "check:launch output": "In this portal: python manage.py launch_proof_bundle (its public launch checks), "
    "attached with --attach <slug>.",
    "check:api output": "In this portal: python manage.py launch_proof_bundle (its API and route-protection "
    "checks), attached with --attach <slug>.",
    "check:readiness advisory output": "In this portal: python manage.py check_managed_beta_readiness --attach <slug>.",
    "THESMIOS_SMOKE_URL=https://www.thesmios.com npm run check:production-proof": "In this portal: "
    "THESMIOS_SMOKE_URL=https://portal.example python manage.py launch_proof_bundle (its production-proof checks).",
    "CONFIRM_LAUNCH_OPERATOR_SEED=thesmios-launch-seed run output": "In this portal: python manage.py "
    "operator_launch_proof --tenant <slug> --seed --include-fixtures, once the order form is signed.",
    "Owner, granted-employer, and denied-employer smoke results": "In this portal: the same "
    "operator_launch_proof run logs in as each over HTTP and attaches the results.",
    "Authenticated tenant launch-room snapshot": "In this portal: the same operator_launch_proof run captures "
    "and attaches it.",
    "check:issuer-fixture output when issuer keys and auth fixtures are configured": PLATFORM_FIXTURE_NOTE,
    "check:evidence-fixture output when job runner secret is configured": PLATFORM_FIXTURE_NOTE
    + " operator_launch_proof --include-fixtures checks this portal's evidence download isolation as part of "
    "gate 5's access proof; that is not this fixture.",
    "check:audit-export-fixture output when private storage is configured": PLATFORM_FIXTURE_NOTE,
    "check:privacy-fixture output for data-rights proof": PLATFORM_FIXTURE_NOTE,
}


# The seed's fourth command row is the acceptance API, not a proof command.
ACCEPTANCE_COMMAND = ProofCommand(
    "launch_acceptance",
    "Customer acceptance record",
    "Signed order-form reference, signer, accepted stage, scoped exclusions, and evidence references.",
    "PATCH /api/platform/launch-acceptance with accepted or accepted_with_exclusions decision",
)


def counts() -> dict[str, int]:
    """The seed's headline figures, computed from the catalog (docs/RULES.md section 3)."""
    return {
        "launch_gates": len(GATES),
        "evidence_packs": sum(1 for g in GATES if g.number <= 9 and g.required_evidence),
        "proofs": len(COMMANDS),
        "excluded_claims": len(STANDING_EXCLUSIONS),
    }
