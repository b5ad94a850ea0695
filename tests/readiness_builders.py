"""Direct-row builders for readiness tests: a tenant in any state, fast.

The demo builders in ``launchroom.demo`` go through the services (and write files); these
write the rows the readiness engine reads, straight, so table-driven, property and
query-count tests can build many tenants in the test transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from billing.models import BillingProfile, BillingRoute
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceDecision,
    AcceptanceRecord,
    CountersignKind,
    GateDecision,
    GateDecisionKind,
    LaunchStage,
    OrderForm,
    OrderFormStatus,
    SupportPlan,
    Tenant,
)

CONFIG_FLAGS = (
    "issuer_fixture_configured",
    "evidence_fixture_configured",
    "audit_export_configured",
    "controlled_send_configured",
)
EVIDENCE_GATES = tuple(g.key for g in catalog.GATES if g.decided_by is not None)
ATTACHMENT_REQUIREMENTS = tuple((g.key, r.key) for g in catalog.GATES for r in g.attachment_requirements)


def builder_user() -> Any:
    user, _ = get_user_model().objects.get_or_create(
        username="builder", defaults={"is_staff": True, "email": "builder@thesmios.example"}
    )
    return user


def order_form_row(
    tenant: Tenant,
    *,
    version: int = 1,
    requested_stage: str = LaunchStage.PAID_BETA,
    signed: bool = True,
    exclusions: Collection[str] = catalog.STANDING_EXCLUSIONS,
    scoped: bool = True,
) -> OrderForm:
    return OrderForm.objects.create(
        tenant=tenant,
        version=version,
        requested_stage=requested_stage,
        compliance_modules="Right-to-work verification" if scoped else "",
        cohort_description="Pilot cohort" if scoped else "",
        excluded_claims="\n".join(exclusions),
        status=OrderFormStatus.SIGNED if signed else OrderFormStatus.DRAFT,
        approval_reference=f"PO-{tenant.slug}-{version}" if signed else "",
        signed_at=timezone.now() if signed else None,
        signer_name="Procurement lead" if signed else "",
    )


def billing_row(tenant: Tenant, *, accepted: bool = True) -> BillingProfile:
    profile = BillingProfile(
        tenant=tenant,
        route=BillingRoute.INVOICE_ONLY,
        billing_owner_name="Accounts payable",
        billing_owner_email=f"ap@{tenant.slug}.example",
        po_terms="Net 30",
        invoice_contact=f"invoices@{tenant.slug}.example",
        plan="Managed beta",
        seat_cap=100,
        renewal_terms="Quarterly",
        cancellation_terms="30 days' notice",
    )
    if accepted:
        profile.fallback_accepted_at = timezone.now()
        profile.fallback_accepted_name = "Buyer finance"
        profile.fallback_terms_sha256 = profile.terms_sha256()
    profile.save()
    return profile


def support_row(tenant: Tenant) -> SupportPlan:
    return SupportPlan.objects.create(
        tenant=tenant,
        support_owner_name="Priya Patel",
        support_owner_email="support@thesmios.example",
        escalation_route="Support owner, then on-call operator",
        manual_incident_channel="#thesmios-shared",
        manual_notice_process="Support owner e-mails every subscriber by hand within 30 minutes",
    )


def attachment_row(
    tenant: Tenant,
    gate_key: str,
    requirement_key: str,
    *,
    age_days: float = 1,
    by: Any = None,
    command: str = "",
    save: bool = True,
) -> EvidenceAttachment:
    output = f"{gate_key}/{requirement_key} output for {tenant.slug} ({age_days} days old)"
    row = EvidenceAttachment(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement_key,
        output=output,
        sha256=hashlib.sha256(output.encode()).hexdigest(),
        size=len(output),
        content_type="text/plain",
        captured_at=timezone.now() - timedelta(days=age_days),
        uploaded_by=by,
        produced_by_command=command,
    )
    if save:
        row.save()
    return row


def decision_row(tenant: Tenant, gate_key: str, decision: str, *, by: Any = None, save: bool = True) -> GateDecision:
    row = GateDecision(
        tenant=tenant,
        gate_key=gate_key,
        decision=decision,
        note=f"{decision} in a test",
        decided_by=by or builder_user(),
        decided_at=timezone.now(),
    )
    if save:
        row.save()
    return row


def acceptance_row(
    tenant: Tenant,
    stage: str,
    *,
    decision: str = AcceptanceDecision.ACCEPTED,
    order_form: OrderForm | None = None,
    supersedes: AcceptanceRecord | None = None,
    countersigned: bool = True,
) -> AcceptanceRecord:
    """An acceptance row; an accepted one countersigned by an operator unless told otherwise
    (docs/RULES.md 5.9)."""
    record = AcceptanceRecord.objects.create(
        tenant=tenant,
        stage=stage,
        decision=decision,
        signer_name="Bea Buyer",
        signer_role="Sponsor",
        signer_email="bea@example.com",
        recorded_by=builder_user(),
        approval_reference=order_form.approval_reference if order_form else "none",
        order_form=order_form,
        signed_at=timezone.now(),
        snapshot_sha256="0" * 64,
        supersedes=supersedes,
    )
    if countersigned and decision in (AcceptanceDecision.ACCEPTED, AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS):
        AcceptanceCountersignature.objects.create(
            tenant=tenant,
            record=record,
            kind=CountersignKind.COUNTERSIGNED,
            operator=builder_user(),
            operator_name="Olivia Operator",
            operator_role="Operator",
            signed_at=timezone.now(),
            snapshot_sha256=record.snapshot_sha256,
        )
    return record


def tenant_row(
    slug: str,
    *,
    stage: str = "setup",
    regulated: bool = False,
    configured: Collection[str] = (),
) -> Tenant:
    return Tenant.objects.create(
        slug=slug,
        name=slug.title(),
        stage=stage,
        regulated_buyer=regulated,
        **{flag: flag in configured for flag in CONFIG_FLAGS},
    )


def ready_tenant(
    slug: str = "ready",
    *,
    requested_stage: str = LaunchStage.PAID_BETA,
    stage: str = "setup",
    regulated: bool = False,
    configured: Collection[str] = CONFIG_FLAGS,
    accept_stages: Collection[str] | None = None,
    omit: Collection[tuple[str, str]] = (),
    ages: Mapping[tuple[str, str], float] | None = None,
    decisions: Mapping[str, str | None] | None = None,
    billing: bool = True,
    support: bool = True,
    signed: bool = True,
) -> Tenant:
    """A tenant that is go for ``requested_stage`` unless told otherwise.

    ``omit`` leaves attachment requirements out, ``ages`` sets their age in days,
    ``decisions`` overrides (or, with None, leaves out) an evidence gate's decision.
    """
    tenant = tenant_row(slug, stage=stage, regulated=regulated, configured=configured)
    order_form = order_form_row(tenant, requested_stage=requested_stage, signed=signed)
    if billing:
        billing_row(tenant)
    if support:
        support_row(tenant)
    ages = ages or {}
    attachments = []
    for gate_key, requirement_key in ATTACHMENT_REQUIREMENTS:
        requirement = catalog.requirement(gate_key, requirement_key)
        if (gate_key, requirement_key) in omit:
            continue
        if requirement.configured_flag and not getattr(tenant, requirement.configured_flag):
            continue
        attachments.append(
            attachment_row(
                tenant, gate_key, requirement_key, age_days=ages.get((gate_key, requirement_key), 1), save=False
            )
        )
    EvidenceAttachment.objects.bulk_create(attachments)
    wanted = {key: GateDecisionKind.ACCEPTED for key in EVIDENCE_GATES}
    wanted.update(decisions or {})
    GateDecision.objects.bulk_create(
        [decision_row(tenant, key, kind, save=False) for key, kind in wanted.items() if kind is not None]
    )
    if signed:
        for accept_stage in accept_stages if accept_stages is not None else (requested_stage,):
            acceptance_row(tenant, accept_stage, order_form=order_form)
    return tenant


__all__ = [
    "ATTACHMENT_REQUIREMENTS",
    "CONFIG_FLAGS",
    "EVIDENCE_GATES",
    "acceptance_row",
    "attachment_row",
    "billing_row",
    "builder_user",
    "decision_row",
    "order_form_row",
    "ready_tenant",
    "support_row",
    "tenant_row",
]
