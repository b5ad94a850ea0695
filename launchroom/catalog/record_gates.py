"""The gates met by the portal's own records, with no owner decision (3, 4, 9, 10), in the seed's words."""

from __future__ import annotations

from launchroom.catalog.terms import BUYER, DEFAULT_FRESHNESS, Effect, Gate, Kind, Requirement, Role

A = Kind.ATTACHMENT
R = Kind.RECORD
F = DEFAULT_FRESHNESS

RECORD_GATES: tuple[Gate, ...] = (
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
