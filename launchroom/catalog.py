"""The gate catalog: the ten launch gates of SPEC section 3, as plain data.

Every page, API and check reads this module; no gate text is written anywhere else.
Titles, summaries, owners, acceptance and "if missing" texts are the seed page's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    ATTACHMENT = "attachment"
    RECORD = "record"


class Effect(StrEnum):
    HOLD = "HOLD"
    CAP = "CAP"
    CLAIMS = "CLAIMS"


class Role(StrEnum):
    """Staff roles; each is a Django group of the same name."""

    COMMERCIAL = "Commercial owner"
    OPERATOR = "Operator"
    FINANCE = "Finance owner"
    SECURITY = "Security owner"
    SUPPORT = "Support owner"


# The owner named in next actions for the buyer's side of a launch.
BUYER = "Buyer"

DEFAULT_FRESHNESS = "default"  # the EVIDENCE_FRESHNESS_DAYS setting


@dataclass(frozen=True)
class Requirement:
    key: str
    label: str
    kind: Kind
    # When set, the requirement counts only if this Tenant flag is true (the seed's
    # "when ... is configured"); otherwise its claim goes to do-not-claim instead.
    configured_flag: str | None = None
    # Days an attachment stays fresh: DEFAULT_FRESHNESS, a number, or None (never stale).
    freshness_days: int | str | None = None
    # The claim this requirement supports, named in do-not-claim while it is not proven.
    claim: str | None = None
    # What to do to meet it, shown as the next action.
    action: str = ""
    # Who does it, when not the gate's action owner.
    owner: str = ""

    @property
    def conditional(self) -> bool:
        return self.configured_flag is not None


@dataclass(frozen=True)
class Gate:
    number: int
    key: str
    title: str
    summary: str
    owner: str
    audience: str
    acceptance: str
    decided_by: Role | None  # None: a record gate, the record is the decision
    requirements: tuple[Requirement, ...]
    effect: Effect
    if_missing: str
    required_evidence: tuple[str, ...]  # the seed's "Required evidence" column
    claims: tuple[str, ...] = ()
    # Gate 8: HOLD for a regulated buyer, otherwise CLAIMS.
    hold_when_regulated: bool = False
    # Who is asked to act when the gate is not met.
    action_owner: str = ""
    hold_reason: str = ""

    @property
    def attachment_requirements(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.kind == Kind.ATTACHMENT)

    def requirement(self, key: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.key == key:
                return requirement
        raise KeyError(key)

    @property
    def buyer_if_missing(self) -> str:
        """What an unmet gate means, and what the buyer can do, in the buyer's words (the
        launch room only; staff read ``if_missing``)."""
        return BUYER_IF_MISSING.get(self.key, self.if_missing)

    def effect_for(self, *, regulated_buyer: bool) -> Effect:
        if self.hold_when_regulated and regulated_buyer:
            return Effect.HOLD
        return self.effect


STANDING_EXCLUSIONS: tuple[str, ...] = (
    "self-serve paid checkout (Stripe)",
    "broad enterprise SSO/SCIM and HRIS automation",
    "official issuer automation (connectors)",
    "external certifications and external malware scanning",
)

A = Kind.ATTACHMENT
R = Kind.RECORD
F = DEFAULT_FRESHNESS

GATES: tuple[Gate, ...] = (
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
        number=3,
        key="order-form-scope",
        title="Customer order-form scope",
        summary="Order-form template and customer launch room define modules, cohort, verifier audience, data "
        "boundaries, exclusions, and acceptance language.",
        owner="Buyer and Thesmios commercial owner",
        audience="Buyer",
        acceptance="Attach the signed order form or approval reference before moving the tenant beyond setup.",
        decided_by=None,
        requirements=(
            Requirement(
                "signed-order-form",
                "Signed order form (approval reference and signed date)",
                R,
                action="Sign the order form with its approval reference.",
            ),
            Requirement(
                "approved-scope",
                "Approved worker cohort and compliance modules",
                R,
                action="Fill in the cohort and compliance modules on the order form.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Keep the tenant in setup; do not treat private beta or paid beta as accepted.",
        required_evidence=(
            "Signed order form or written approval reference",
            "Approved worker cohort and compliance modules",
            "Customer launch room sections",
        ),
        action_owner=Role.COMMERCIAL,
    ),
    Gate(
        number=4,
        key="billing-route",
        title="Invoice or order-form billing route",
        summary="Tenant billing profile and invoice setup request paths exist. Stripe checkout remains a separate "
        "self-serve proof gate.",
        owner="Buyer finance owner and Thesmios operator",
        audience="Finance",
        acceptance="Attach billing owner, PO terms, invoice contact, plan, seat cap, and renewal/cancellation terms.",
        decided_by=None,
        requirements=(
            Requirement(
                "billing-profile",
                "Billing profile saved as invoice-only or Stripe-ready",
                R,
                action="Create the billing profile.",
            ),
            Requirement(
                "billing-terms",
                "Billing owner, PO terms or invoice contact, plan, seat cap, renewal and cancellation terms",
                R,
                action="Complete the billing terms.",
            ),
            Requirement(
                "billing-fallback-accepted",
                "Customer acceptance of the manual billing fallback",
                R,
                action="Accept the manual billing fallback in the launch room.",
                owner=BUYER,
            ),
        ),
        effect=Effect.CAP,
        if_missing="Run a no-charge private beta only; do not call the tenant a paid beta.",
        required_evidence=(
            "Tenant billing profile saved as invoice-only or Stripe-ready",
            "Purchase-order terms or invoice contact",
            "Customer acceptance for manual billing fallback",
        ),
        action_owner=Role.FINANCE,
        hold_reason="run a no-charge private beta only",
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
    Gate(
        number=9,
        key="customer-acceptance",
        title="Customer acceptance record",
        summary="Launch acceptance routes and tenant launch room can store accepted, accepted-with-exclusions, "
        "deferred, rejected, or superseded stage decisions.",
        owner="Buyer sponsor and Thesmios operator",
        audience="Buyer",
        acceptance="Attach the go/no-go decision before any paid or live production claim.",
        decided_by=None,
        requirements=(
            Requirement(
                "acceptance-record",
                "Current acceptance record: decision, signer name and role, approval reference, scoped exclusions "
                "and residual risks",
                R,
                action="The buyer sponsor signs the acceptance record in the launch room.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Do not mark the tenant as live, even when the public site and product evidence packs pass.",
        required_evidence=(
            "PATCH /api/platform/launch-acceptance output",
            "Signer name, role, and approval reference",
            "Scoped exclusions and residual risks",
        ),
        action_owner=BUYER,
    ),
    Gate(
        number=10,
        key="self-serve-exclusions",
        title="Self-serve and enterprise exclusions",
        summary="Self-serve Stripe checkout, broad enterprise SSO/SCIM, HRIS automation, official issuer "
        "connectors, and external certifications remain separate proof tracks.",
        owner="Thesmios operator",
        audience="Enterprise",
        acceptance="List excluded claims in the order form and customer launch acceptance record.",
        decided_by=None,
        requirements=(
            Requirement(
                "exclusions-on-order-form",
                "The standing excluded claims are listed on the signed order form",
                R,
                action="List the standing excluded claims on the order form and sign it.",
            ),
        ),
        effect=Effect.HOLD,
        if_missing="Self-serve remains gated; enterprise claims stay managed, customer-specific, or out of scope.",
        required_evidence=(
            "Strict readiness passing",
            "Stripe fixture proof before self-serve checkout",
            "SCIM fixture and SSO broker proof before broad enterprise provisioning",
            "Customer-specific HRIS and official issuer credentials",
        ),
        action_owner=Role.COMMERCIAL,
    ),
)

GATES_BY_KEY: dict[str, Gate] = {gate.key: gate for gate in GATES}

# Buyer wording for each gate's "if missing" line, shown in the launch room instead of the
# seed's staff instruction: what holding means for the buyer, and what they can do about it.
BUYER_IF_MISSING: dict[str, str] = {
    "public-deployment": "Your rollout waits until Thesmios has proven its production site and public evidence. "
    "Nothing is needed from you.",
    "strict-proof-plan": "Your launch waits until Thesmios has run its production proof. Nothing is needed from you.",
    "order-form-scope": "Your launch stays in setup until the order form is signed. Review the order form when "
    "Thesmios sends it to you, and approve it or request changes.",
    "billing-route": "Until billing is agreed you can run a no-charge private beta only. Your buyer sponsor or "
    "buyer finance accepts the manual billing fallback here once the terms are set.",
    "tenant-access-proof": "Your tenant cannot go live until Thesmios has proven that only your people can reach "
    "it. Nothing is needed from you.",
    "credential-evidence-proof": "Until Thesmios proves these controls, they are left out of what your launch "
    "covers. Nothing is needed from you.",
    "support-fallback": "Support stays manual: Thesmios reaches you through the named support channel, not by "
    "automated e-mail.",
    "security-procurement-pack": "As a regulated buyer, your launch waits for your security and procurement "
    "review. Ask your Thesmios contact for the packs, and tell them your decision.",
    "customer-acceptance": "Your launch does not go live until your buyer sponsor signs the acceptance record below.",
    "self-serve-exclusions": "The order form must list the claims this launch does not make. Thesmios adds them "
    "before it is signed.",
}


def gate(key: str) -> Gate:
    return GATES_BY_KEY[key]


def requirement(gate_key: str, requirement_key: str) -> Requirement:
    return GATES_BY_KEY[gate_key].requirement(requirement_key)


def attachment_requirement_choices() -> list[tuple[str, str]]:
    """``gate/requirement`` choices for evidence forms, grouped by gate title."""
    return [
        (f"{g.key}/{r.key}", f"{g.number}. {g.title} · {r.label}") for g in GATES for r in g.attachment_requirements
    ]
