"""The published product evidence: production-proof groups and the three evidence packs.

Plain data, read by the public pages, their JSON twins and the proof commands. Gate
texts (titles, owners, acceptance, "if missing") come from ``launchroom.catalog``; this
module adds only what the production-proof page and the packs say about each gate.
Every statement describes something the portal does today, or says plainly that it does
not; nothing here is a certification.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from launchroom import catalog
from launchroom.public import copy

READ_ONLY = "Read-only: the checks send GET requests to public and protected routes and change nothing."


@dataclass(frozen=True)
class ProofGroup:
    """What strict production proof of one gate needs, beyond the gate's own texts."""

    gate_key: str
    blockers: tuple[str, ...]
    fixture_inputs: tuple[str, ...]
    vendor_requirements: tuple[str, ...]
    mutating_boundary: str
    commands: tuple[str, ...] = ()


PROOF_GROUPS: tuple[ProofGroup, ...] = (
    ProofGroup(
        "public-deployment",
        blockers=(
            "The production URL does not answer over HTTPS.",
            "check_managed_beta_readiness reports a failed check.",
            "launch_proof_bundle reports a failed check (public pages, API, evidence packs, route protection or "
            "security headers).",
        ),
        fixture_inputs=("The deployment's base URL, as --url or THESMIOS_SMOKE_URL.",),
        vendor_requirements=("A TLS certificate for the production domain.",),
        mutating_boundary=READ_ONLY,
        commands=("check_managed_beta_readiness", "launch_proof_bundle"),
    ),
    ProofGroup(
        "strict-proof-plan",
        blockers=(
            "/production-proof or /api/product/production-proof does not answer.",
            "A launch gate has no proof group.",
        ),
        fixture_inputs=("None: the proof groups are generated from the portal's gate catalog.",),
        vendor_requirements=(),
        mutating_boundary=READ_ONLY,
        commands=("launch_proof_bundle",),
    ),
    ProofGroup(
        "order-form-scope",
        blockers=(
            "No order-form version is signed with an approval reference and a signed date.",
            "The signed version names no compliance modules or no worker cohort.",
        ),
        fixture_inputs=("The customer's signed order form or written approval reference.",),
        vendor_requirements=(),
        mutating_boundary="The commercial owner records the signature in the admin. A signed version is frozen; a "
        "change makes a new version.",
    ),
    ProofGroup(
        "billing-route",
        blockers=(
            "The tenant has no billing profile.",
            "The billing owner, purchase-order terms or invoice contact, plan, seat cap, renewal or cancellation "
            "terms are missing.",
            "The buyer has not accepted the manual billing fallback for the terms as they stand.",
        ),
        fixture_inputs=("The buyer's purchase-order terms and invoice contact.",),
        vendor_requirements=(
            "None for invoice-only billing. Stripe checkout is a separate self-serve proof track that this portal "
            "does not run.",
        ),
        mutating_boundary="The finance owner edits the billing profile in the admin and the buyer accepts the "
        "fallback in the launch room. The portal takes no payment.",
    ),
    ProofGroup(
        "tenant-access-proof",
        blockers=(
            "No operator seed run output.",
            "The owner, granted-employer or denied-employer smoke result fails.",
            "No authenticated launch-room snapshot.",
        ),
        fixture_inputs=(
            "CONFIRM_OPERATOR_LAUNCH_PROOF=thesmios-operator-proof",
            "LAUNCH_OPERATIONS_SECRET (signs the proof JSON with HMAC-SHA256)",
            "The deployment's base URL, as --url or THESMIOS_SMOKE_URL.",
        ),
        vendor_requirements=(),
        mutating_boundary="operator_launch_proof --seed creates or refreshes one fixture tenant and its three "
        "fixture users in the portal's own database. It changes no customer tenant.",
        commands=("operator_launch_proof",),
    ),
    ProofGroup(
        "credential-evidence-proof",
        blockers=(
            "No issuer fixture output, when issuer keys and auth fixtures are configured.",
            "No evidence fixture output, when the job runner secret is configured.",
            "No audit export fixture output, when private storage is configured.",
            "No privacy fixture output.",
        ),
        fixture_inputs=(
            "Issuer keys and auth fixtures (issuer fixture).",
            "The job runner secret (evidence fixture).",
            "Private storage (audit export fixture).",
            "A data-rights request fixture (privacy fixture).",
        ),
        vendor_requirements=("Private object storage, when the audit export fixture is configured.",),
        mutating_boundary="The fixtures run outside this portal; the portal stores their output as evidence with "
        "its SHA-256 and runs none of them itself.",
    ),
    ProofGroup(
        "support-fallback",
        blockers=(
            "No named support owner.",
            "No manual incident channel.",
            "No status broadcast dry-run output.",
            "No controlled send proof, when an e-mail provider and sender reputation are configured.",
        ),
        fixture_inputs=("The status subscribers on the tenant's support plan.",),
        vendor_requirements=(
            "An e-mail provider with a verified sender, for automated delivery. Without one, support stays manual.",
        ),
        mutating_boundary="The dry-run renders each notice through Django's e-mail backend without sending it. A "
        "real send needs a configured e-mail backend and an explicit confirmation.",
    ),
    ProofGroup(
        "security-procurement-pack",
        blockers=(
            "/api/product/security-assurance, /api/product/procurement-evidence or /api/product/operations-evidence "
            "does not answer.",
            "No customer DPIA or residual-risk decision (this holds a regulated buyer).",
        ),
        fixture_inputs=("The customer's DPIA or residual-risk decision.",),
        vendor_requirements=(
            "None. No external certification is claimed; a buyer who needs one is outside the managed beta.",
        ),
        mutating_boundary=READ_ONLY,
        commands=("launch_proof_bundle",),
    ),
    ProofGroup(
        "customer-acceptance",
        blockers=(
            "No current acceptance record for the stage.",
            "The current record is deferred, rejected or withdrawn.",
            "The order form has a newer signed version than the one the record rests on.",
        ),
        fixture_inputs=(
            "The signed order form's approval reference.",
            "The signer's name, role and e-mail.",
        ),
        vendor_requirements=(),
        mutating_boundary="PATCH /api/platform/launch-acceptance and the launch-room form append a record. Records "
        "are never edited or deleted; a new record supersedes the old one.",
    ),
    ProofGroup(
        "self-serve-exclusions",
        blockers=("The signed order form does not list the four standing excluded claims.",),
        fixture_inputs=(
            "None in this portal: Stripe fixture proof, SCIM fixture and SSO broker proof, and customer-specific "
            "HRIS and official issuer credentials belong to separate proof tracks.",
        ),
        vendor_requirements=(
            "Stripe, an SSO/SCIM broker, HRIS systems and official issuer connectors: none is integrated here.",
        ),
        mutating_boundary="None: the exclusions are text on the signed order form.",
    ),
)

PROOF_GROUPS_BY_KEY: dict[str, ProofGroup] = {group.gate_key: group for group in PROOF_GROUPS}

PRODUCTION_PROOF = {
    "title": "Production proof",
    "lead": "For each launch gate: what blocks strict proof, the fixture inputs it needs, the vendors it depends "
    "on, what running its proof changes, and the decision when it is missing.",
    "strict_readiness": "Strict self-serve readiness is not claimed. The managed beta runs with named evidence per "
    "tenant; the excluded claims stay separate proof tracks.",
}

NO_EXTERNAL_CERTIFICATION = (
    "No external certification: this portal holds no SOC 2, ISO 27001 or other third-party certification or "
    "audit report, and none is implied. Uploaded evidence is not scanned by an external malware engine."
)


def production_proof() -> dict[str, Any]:
    """The production-proof JSON: one group per gate, in catalog order."""
    groups = []
    for gate in catalog.GATES:
        group = PROOF_GROUPS_BY_KEY[gate.key]
        groups.append(
            {
                "number": gate.number,
                "key": gate.key,
                "title": gate.title,
                "owner": gate.owner,
                "effect": str(gate.effect),
                "blockers": list(group.blockers),
                "fixture_inputs": list(group.fixture_inputs),
                "vendor_requirements": list(group.vendor_requirements),
                "mutating_boundary": group.mutating_boundary,
                "commands": list(group.commands),
                "if_missing": gate.if_missing,
            }
        )
    return {
        **PRODUCTION_PROOF,
        "groups": groups,
        "excluded_claims": list(catalog.STANDING_EXCLUSIONS),
        "boundary": {"heading": copy.PAGE["boundary_heading"], "text": copy.PAGE["boundary"]},
        "certification_boundary": NO_EXTERNAL_CERTIFICATION,
    }


def security_assurance() -> dict[str, Any]:
    """The controls the portal enforces, with the values it runs with."""
    session_hours = settings.SESSION_COOKIE_AGE / 3600
    return {
        "title": "Security assurance",
        "lead": "The controls this portal enforces for managed-beta launches. Each is a behaviour of the running "
        "code, not a third-party attestation.",
        "controls": [
            {
                "key": "tenant-isolation",
                "title": "Tenant isolation",
                "detail": "Launch rooms, evidence downloads and the platform API answer 404 to anyone who is "
                "neither staff nor a member of the tenant. Customers never reach the admin.",
            },
            {
                "key": "least-privilege-roles",
                "title": "Least-privilege staff roles",
                "detail": "Staff work in five roles (commercial, operator, finance, security, support), each a "
                "group with only the permissions it needs. Only the role that owns a gate can decide it, and "
                "nobody can accept evidence they uploaded by hand.",
            },
            {
                "key": "audit-history",
                "title": "Audit history",
                "detail": "Every record keeps a change history. Gate decisions, acceptance records and stage moves "
                "are append-only and linked in a per-tenant SHA-256 hash chain, so an edit or deletion behind the "
                "portal's back shows.",
            },
            {
                "key": "evidence-hashing",
                "title": "Evidence hashing",
                "detail": "Each evidence attachment is stored with the SHA-256 of its content, computed as it "
                "arrives. An attachment is never edited; a replacement is a new attachment. verify_evidence "
                "re-hashes the stored files, and the readiness decision treats a mismatch as failing.",
            },
            {
                "key": "evidence-storage",
                "title": "Evidence storage",
                "detail": "Evidence files are stored under server-generated names, outside any public URL, and "
                "served only through an authenticated view as downloads with X-Content-Type-Options: nosniff.",
            },
            {
                "key": "headers",
                "title": "Security headers",
                "detail": "Content-Security-Policy without inline script or style, X-Frame-Options: DENY, "
                "X-Content-Type-Options: nosniff, Referrer-Policy: same-origin and Cross-Origin-Opener-Policy: "
                "same-origin on every response; HSTS and Secure, HttpOnly cookies in production over HTTPS.",
            },
            {
                "key": "authentication",
                "title": "Authentication",
                "detail": f"Passwords of at least 12 characters; logins locked after {settings.AXES_FAILURE_LIMIT} "
                f"failures for a username and address; sessions end after {session_hours:g} hours. API tokens are "
                "stored only as their SHA-256.",
            },
        ],
        "certification_boundary": NO_EXTERNAL_CERTIFICATION,
        "does_not_cover": [
            "Third-party penetration testing.",
            "External malware scanning of uploaded files.",
            "Single sign-on, SCIM provisioning or HRIS integration.",
        ],
    }


PROCUREMENT_ITEMS: tuple[dict[str, str], ...] = (
    {
        "key": "dpa",
        "title": "Data processing agreement",
        "status": "agreed per customer",
        "detail": "A data processing agreement is agreed with each managed-beta customer alongside the signed "
        "order form, whose data boundaries record what the beta processes.",
        "does_not_cover": "No standard self-serve DPA is published, and nothing outside the data boundaries of the "
        "signed order form is processed under it.",
    },
    {
        "key": "sla",
        "title": "Service level",
        "status": "managed-beta support plan",
        "detail": "Support during the managed beta follows the tenant's support plan: a named support owner, an "
        "escalation route and a manual incident channel.",
        "does_not_cover": "No uptime commitment and no service credits. No automated status e-mail unless a "
        "controlled send is proven for the tenant (gate 7).",
    },
    {
        "key": "subprocessors",
        "title": "Subprocessors",
        "status": "listed per deployment",
        "detail": "The portal sends no customer data to third parties by itself. A deployment's hosting, database "
        "and e-mail providers are named on the customer's order form.",
        "does_not_cover": "No general subprocessor list for a self-serve product, and no notice service for "
        "subprocessor changes.",
    },
    {
        "key": "privacy",
        "title": "Privacy",
        "status": "published here",
        "detail": "The portal keeps staff and buyer accounts (name, e-mail), order-form scope, billing contacts, "
        "support contacts and evidence files. Evidence is served only to staff and members of its tenant.",
        "does_not_cover": "Privacy fulfilment (data-rights requests) is not claimed for a tenant until its privacy "
        "fixture is accepted (gate 6).",
    },
    {
        "key": "terms",
        "title": "Terms",
        "status": "agreed per customer",
        "detail": "The signed order form's acceptance language, excluded claims, renewal and cancellation terms "
        "are the terms of the managed beta.",
        "does_not_cover": "No self-serve terms of service and no paid checkout.",
    },
)


def procurement_evidence() -> dict[str, Any]:
    return {
        "title": "Procurement evidence",
        "lead": "What a buyer's procurement review can rely on for a managed beta, each with its status and what "
        "it does not cover.",
        "items": [dict(item) for item in PROCUREMENT_ITEMS],
        "certification_boundary": NO_EXTERNAL_CERTIFICATION,
    }


def operations_evidence() -> dict[str, Any]:
    return {
        "title": "Operations evidence",
        "lead": "How the managed beta is supported and operated. Every process here is run by named people; none "
        "is automated beyond what it says.",
        "processes": [
            {
                "key": "support",
                "title": "Support",
                "detail": "Each tenant has a support plan: a named support owner, an escalation route, a manual "
                "incident channel and its status subscribers. Buyers see their support contacts in the launch room.",
                "does_not_cover": "No 24/7 staffed support desk is claimed.",
            },
            {
                "key": "incident",
                "title": "Incidents",
                "detail": "The support owner opens an incident with its severity, summary and customer impact, "
                "records each manual notice (who was told, how, when and what) and resolves it. Buyers see their "
                "tenant's open incidents in the launch room.",
                "does_not_cover": "No automated paging or incident detection.",
            },
            {
                "key": "status",
                "title": "Status notices",
                "detail": "A status broadcast dry-run renders the notice for every subscriber through Django's e-mail "
                "backend without sending it, and is kept as evidence. Sending needs a configured e-mail backend "
                "and an explicit confirmation.",
                "does_not_cover": "Automated e-mail delivery is not claimed until a controlled send is proven.",
            },
            {
                "key": "backup-drill",
                "title": "Backup drill",
                "detail": "A backup and restore drill is run with `make backup-drill`; its output can be attached as "
                "evidence.",
                "does_not_cover": "No managed backup service and no recovery-time objective are promised; backups "
                "are run by the deployment's operator.",
            },
        ],
        "health": "/healthz answers 200 when the database answers.",
        "certification_boundary": NO_EXTERNAL_CERTIFICATION,
    }


PACKS = {
    "security-assurance": security_assurance,
    "procurement-evidence": procurement_evidence,
    "operations-evidence": operations_evidence,
}
