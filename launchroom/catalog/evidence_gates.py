"""The gates met by evidence that an owner role accepts (1, 2, 5, 6, 7, 8), in the seed's words."""

from __future__ import annotations

from launchroom.catalog.terms import DEFAULT_FRESHNESS, Effect, Gate, Kind, Requirement, Role

A = Kind.ATTACHMENT
R = Kind.RECORD
F = DEFAULT_FRESHNESS

EVIDENCE_GATES: tuple[Gate, ...] = (
    Gate(
        number=1,
        key="public-deployment",
        title="Public deployment and route protection",
        summary="Production homepage, marketing surfaces, status, implementation, legal, trust, readiness, and "
        "public product evidence endpoints are deployed on the production domain.",
        owner="Thesmios operator",
        audience="Buyer",
        acceptance="Attach public launch and API smoke output to the customer implementation record.",
        decided_by=Role.OPERATOR,
        requirements=(
            Requirement("deployment-url", "Production deployment URL", A, action="Attach the production URL."),
            Requirement(
                "launch-smoke",
                "Launch smoke output",
                A,
                freshness_days=F,
                action="Run launch_proof_bundle and attach its output.",
            ),
            Requirement(
                "api-smoke",
                "API smoke output",
                A,
                freshness_days=F,
                action="Run launch_proof_bundle and attach its output.",
            ),
            Requirement(
                "readiness-advisory",
                "Readiness advisory output",
                A,
                freshness_days=F,
                action="Run check_managed_beta_readiness and attach its output.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Do not begin a buyer rollout until the production domain and public evidence surfaces pass.",
        required_evidence=(
            "Production deployment URL",
            "check:launch output",
            "check:api output",
            "check:readiness advisory output",
        ),
        action_owner=Role.OPERATOR,
    ),
    Gate(
        number=2,
        key="strict-proof-plan",
        title="Strict proof plan is published",
        summary="Production proof groups name the strict paid-readiness blockers, fixture inputs, vendor "
        "requirements, mutating boundaries, and if-missing decisions.",
        owner="Thesmios operator",
        audience="Operator",
        acceptance="Attach the production proof JSON and smoke output so strict blockers are visible before the "
        "buyer signs.",
        decided_by=Role.OPERATOR,
        requirements=(
            Requirement(
                "production-proof-json",
                "Production proof JSON",
                A,
                action="Attach /api/product/production-proof output.",
            ),
            Requirement(
                "production-proof-smoke",
                "Production-proof smoke output",
                A,
                freshness_days=F,
                action="Run launch_proof_bundle and attach its output.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Do not represent strict readiness blockers as owned or understood.",
        required_evidence=(
            "/production-proof",
            "/api/product/production-proof",
            "THESMIOS_SMOKE_URL=https://www.thesmios.com npm run check:production-proof",
        ),
        action_owner=Role.OPERATOR,
    ),
    Gate(
        number=5,
        key="tenant-access-proof",
        title="Authenticated tenant access proof",
        summary="Authenticated smoke and tenant launch-room routes exist, but production fixture IDs and smoke "
        "credentials must be exported for each launch environment.",
        owner="Thesmios operator",
        audience="Security",
        acceptance="Attach access-control pass output before claiming tenant isolation is proven for the launch "
        "tenant.",
        decided_by=Role.OPERATOR,
        requirements=(
            Requirement(
                "operator-seed-run",
                "Operator seed run output",
                A,
                freshness_days=F,
                action="Run operator_launch_proof --seed and attach its proof.",
            ),
            Requirement(
                "access-smoke",
                "Owner, granted-employer and denied-employer smoke results",
                A,
                freshness_days=F,
                action="Run operator_launch_proof --seed and attach its proof.",
            ),
            Requirement(
                "launch-room-snapshot",
                "Authenticated launch-room snapshot",
                A,
                freshness_days=F,
                action="Attach a snapshot of the authenticated launch room.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Private demo can continue, but a customer tenant cannot be accepted as live.",
        required_evidence=(
            "CONFIRM_LAUNCH_OPERATOR_SEED=thesmios-launch-seed run output",
            "Owner, granted-employer, and denied-employer smoke results",
            "Authenticated tenant launch-room snapshot",
        ),
        action_owner=Role.OPERATOR,
    ),
    Gate(
        number=6,
        key="credential-evidence-proof",
        title="Credential and evidence sample proof",
        summary="Credential lifecycle, issuer discovery, evidence upload, verification jobs, privacy export, audit "
        "export, and launch fixtures exist behind protected routes.",
        owner="Thesmios operator",
        audience="Security",
        acceptance="Attach sample credential, evidence, audit export, and privacy fixture output for the tenant or "
        "scoped pilot cohort.",
        decided_by=Role.OPERATOR,
        requirements=(
            Requirement(
                "issuer-fixture",
                "Issuer fixture output",
                A,
                configured_flag="issuer_fixture_configured",
                freshness_days=F,
                claim="production credential signing",
                action="Run the issuer fixture and attach its output.",
            ),
            Requirement(
                "evidence-fixture",
                "Evidence fixture output",
                A,
                configured_flag="evidence_fixture_configured",
                freshness_days=F,
                claim="evidence controls",
                action="Run the evidence fixture and attach its output.",
            ),
            Requirement(
                "audit-export-fixture",
                "Audit export fixture output",
                A,
                configured_flag="audit_export_configured",
                freshness_days=F,
                claim="audit export",
                action="Run the audit export fixture and attach its output.",
            ),
            Requirement(
                "privacy-fixture",
                "Privacy fixture output",
                A,
                freshness_days=F,
                claim="privacy fulfilment",
                action="Run the privacy fixture and attach its output.",
            ),
        ),
        effect=Effect.CLAIMS,
        claims=("production credential signing", "evidence controls", "audit export", "privacy fulfilment"),
        if_missing="Do not claim production credential signing, evidence controls, audit export, or privacy "
        "fulfilment as buyer-accepted.",
        required_evidence=(
            "check:issuer-fixture output when issuer keys and auth fixtures are configured",
            "check:evidence-fixture output when job runner secret is configured",
            "check:audit-export-fixture output when private storage is configured",
            "check:privacy-fixture output for data-rights proof",
        ),
        action_owner=Role.OPERATOR,
    ),
    Gate(
        number=7,
        key="support-fallback",
        title="Support and incident fallback",
        summary="SLA, support queue, status subscriptions, and status broadcast dry-run routes exist. Resend sender "
        "verification is still required for live automated email.",
        owner="Thesmios support owner",
        audience="Operator",
        acceptance="Attach support owner, escalation route, manual notice process, and dry-run broadcast output.",
        decided_by=Role.SUPPORT,
        requirements=(
            Requirement(
                "support-owner",
                "Named customer support owner",
                R,
                action="Name the support owner on the support plan.",
            ),
            Requirement(
                "incident-channel",
                "Manual incident communication channel",
                R,
                action="Record the manual incident channel on the support plan.",
            ),
            Requirement(
                "escalation-route",
                "Escalation route",
                R,
                action="Record the escalation route on the support plan.",
            ),
            Requirement(
                "manual-notice-process",
                "Manual notice process",
                R,
                action="Record the manual notice process on the support plan.",
            ),
            Requirement(
                "broadcast-dry-run",
                "Status subscriber and broadcast dry-run evidence",
                A,
                freshness_days=F,
                action="Run a status broadcast dry-run from the support plan.",
            ),
            Requirement(
                "controlled-send",
                "Controlled send proof",
                A,
                configured_flag="controlled_send_configured",
                freshness_days=F,
                claim="automated email delivery",
                action="Run a controlled send and attach its proof.",
            ),
        ),
        effect=Effect.CLAIMS,
        claims=("automated email delivery",),
        if_missing="Keep support communication manual and exclude automated email delivery from the launch claim.",
        required_evidence=(
            "Named customer support owner",
            "Manual incident communication channel",
            "Status subscriber and broadcast dry-run evidence",
            "Controlled send proof when RESEND_API_KEY and sender reputation are configured",
        ),
        action_owner=Role.SUPPORT,
    ),
    Gate(
        number=8,
        key="security-procurement-pack",
        title="Security, privacy, and procurement pack",
        summary="Security assurance, procurement evidence, DPA, SLA, subprocessors, privacy, terms, status, and "
        "operations evidence are published with explicit certification boundaries.",
        owner="Thesmios security owner",
        audience="Buyer",
        acceptance="Attach procurement/security review approvals and the relevant public evidence packs.",
        decided_by=Role.SECURITY,
        requirements=(
            Requirement(
                "security-assurance-pack",
                "Security assurance pack",
                A,
                action="Attach /api/product/security-assurance.",
            ),
            Requirement(
                "procurement-evidence-pack",
                "Procurement evidence pack",
                A,
                action="Attach /api/product/procurement-evidence.",
            ),
            Requirement(
                "operations-evidence-pack",
                "Operations evidence pack",
                A,
                action="Attach /api/product/operations-evidence.",
            ),
            Requirement(
                "dpia-or-risk-decision",
                "Customer DPIA or residual-risk decision",
                A,
                action="Attach the customer's DPIA or residual-risk decision.",
            ),
        ),
        effect=Effect.CLAIMS,
        claims=("buyer security review accepted",),
        hold_when_regulated=True,
        if_missing="Do not mark the launch accepted for a regulated buyer.",
        required_evidence=(
            "/api/product/security-assurance",
            "/api/product/procurement-evidence",
            "/api/product/operations-evidence",
            "Customer DPIA or residual-risk decision",
        ),
        action_owner=Role.SECURITY,
    ),
)
