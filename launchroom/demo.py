"""Demo data builders: each step is done through the services, by the role that would do it.

``seed_demo`` uses these to build the four tenants of SPEC section 8; the tests use the
same steps to build tenants in any state.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from billing.models import BillingProfile, BillingRoute
from billing.services import billing_fallback_accept
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.acceptance.services import acceptance_sign
from launchroom.catalog import Kind, Role
from launchroom.gates.readiness import evaluate
from launchroom.gates.services import gate_decide, stage_move
from launchroom.models import (
    AcceptanceDecision,
    LaunchStage,
    MembershipRole,
    OrderForm,
    SupportPlan,
    Tenant,
    TenantMembership,
)
from launchroom.orderforms.services import order_form_create, order_form_sign
from launchroom.support.services import status_broadcast_dry_run, support_plan_save
from launchroom.tenants.roles import sync_groups

User = get_user_model()

DEMO_PASSWORD = "demo"

STAFF = {
    "operator": Role.OPERATOR,
    "commercial": Role.COMMERCIAL,
    "finance": Role.FINANCE,
    "security": Role.SECURITY,
    "support": Role.SUPPORT,
}

STAFF_NAMES = {
    "operator": ("Olivia", "Okafor"),
    "commercial": ("Chris", "Castellanos"),
    "finance": ("Fatima", "Farouk"),
    "security": ("Sam", "Sørensen"),
    "support": ("Priya", "Patel"),
}

# Which requirement's evidence is produced by a proof command (and so by nobody's hand).
COMMAND_FOR = {
    ("public-deployment", "launch-smoke"): "launch_proof_bundle",
    ("public-deployment", "api-smoke"): "launch_proof_bundle",
    ("public-deployment", "readiness-advisory"): "check_managed_beta_readiness",
    ("strict-proof-plan", "production-proof-json"): "launch_proof_bundle",
    ("strict-proof-plan", "production-proof-smoke"): "launch_proof_bundle",
    ("tenant-access-proof", "operator-seed-run"): "operator_launch_proof",
    ("tenant-access-proof", "access-smoke"): "operator_launch_proof",
    ("tenant-access-proof", "launch-room-snapshot"): "operator_launch_proof",
    ("credential-evidence-proof", "issuer-fixture"): "operator_launch_proof",
    ("credential-evidence-proof", "evidence-fixture"): "operator_launch_proof",
    ("credential-evidence-proof", "audit-export-fixture"): "operator_launch_proof",
    ("credential-evidence-proof", "privacy-fixture"): "operator_launch_proof",
    ("support-fallback", "broadcast-dry-run"): "status_broadcast_dry_run",
    ("support-fallback", "controlled-send"): "status_broadcast_send",
}

# Who attaches evidence that is not produced by a command.
HAND_UPLOADER = {
    "public-deployment": "security",
    "security-procurement-pack": "operator",
}


def _set_password(user: Any, created: bool, password: str | None) -> None:
    """A new user gets the demo password; an existing one keeps theirs (so a restart logs nobody
    out) unless a password is given explicitly (``seed_demo --reset-passwords``, the bench)."""
    if password is not None:
        user.set_password(password)
    elif created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)


def ensure_staff(password: str | None = None) -> dict[str, Any]:
    """The five staff users, each in their role's group (``operator`` is also superuser)."""
    if Group.objects.filter(name__in=[r.value for r in Role]).count() != len(Role):
        # The groups come from a data migration; a flushed test database has lost them.
        sync_groups()
    users = {}
    for username, role in STAFF.items():
        first, last = STAFF_NAMES[username]
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@thesmios.example", "first_name": first, "last_name": last},
        )
        user.is_staff = True
        user.is_superuser = username == "operator"
        _set_password(user, created, password)
        user.save()
        user.groups.add(Group.objects.get(name=role.value))
        users[username] = user
    return users


def ensure_buyer(
    tenant: Tenant,
    username: str,
    *,
    role: str = MembershipRole.BUYER_SPONSOR,
    password: str | None = None,
    name: tuple[str, str] = ("Bea", "Buyer"),
) -> Any:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@{tenant.slug}.example", "first_name": name[0], "last_name": name[1]},
    )
    _set_password(user, created, password)
    user.save()
    TenantMembership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
    return user


def scoped_order_form(
    tenant: Tenant, staff: dict[str, Any], *, requested_stage: str, sign: bool = True, reference: str = ""
) -> OrderForm:
    order_form = order_form_create(
        tenant=tenant,
        by=staff["commercial"],
        requested_stage=requested_stage,
        compliance_modules="Right-to-work verification\nProfessional licence checks",
        cohort_description=f"{tenant.name} pilot cohort: site supervisors in two regions",
        cohort_size=120,
        verifier_audience=f"{tenant.name} HR compliance team and two external auditors",
        data_boundaries="EU data residency; no special-category data; pilot data deleted 30 days after the beta ends",
        acceptance_language="The buyer accepts the managed beta for the scoped cohort and modules, with the "
        "excluded claims listed here.",
    )
    if sign:
        order_form = order_form_sign(
            order_form=order_form,
            approval_reference=reference or f"PO-{tenant.slug.upper()}-2026-{order_form.version:02d}",
            signer_name=f"{tenant.name} procurement lead",
            by=staff["commercial"],
        )
    return order_form


def complete_billing(tenant: Tenant, staff: dict[str, Any], *, accept_by: Any | None) -> BillingProfile:
    profile = BillingProfile.objects.create(
        tenant=tenant,
        route=BillingRoute.INVOICE_ONLY,
        billing_owner_name=f"{tenant.name} accounts payable",
        billing_owner_email=f"ap@{tenant.slug}.example",
        po_terms="Net 30 against a purchase order",
        invoice_contact=f"invoices@{tenant.slug}.example",
        plan="Managed beta: design partner",
        seat_cap=150,
        renewal_terms="Renews quarterly unless either side gives 30 days' notice",
        cancellation_terms="Either side may cancel with 30 days' written notice; no charge for the notice period",
    )
    if accept_by is not None:
        profile = billing_fallback_accept(profile=profile, by=accept_by)
    return profile


def support_plan(tenant: Tenant, staff: dict[str, Any]) -> SupportPlan:
    support = staff["support"]
    return support_plan_save(
        tenant=tenant,
        by=support,
        support_owner=support,
        support_owner_name=support.get_full_name(),
        support_owner_email=support.email,
        escalation_route="Support owner → on-call operator (phone bridge) → Thesmios CTO within 1 hour for SEV1",
        manual_incident_channel=f"Shared channel #thesmios-{tenant.slug} and the sponsor's direct line",
        status_subscribers=f"sponsor@{tenant.slug}.example\nit-ops@{tenant.slug}.example",
    )


def evidence_content(tenant: Tenant, gate_key: str, requirement_key: str, captured: Any) -> bytes:
    """A realistic JSON output for one requirement, as a proof command would write it."""
    gate = catalog.gate(gate_key)
    requirement = gate.requirement(requirement_key)
    checks = [
        {"name": f"{requirement.label}: {part}", "status": "passed", "ms": 40 + i * 17}
        for i, part in enumerate(("reachable", "complete", "headers"))
    ]
    body = {
        "command": COMMAND_FOR.get((gate_key, requirement_key), "manual"),
        "tenant": tenant.slug,
        "gate": gate_key,
        "requirement": requirement_key,
        "url": "https://portal.thesmios.example",
        "started_at": captured.isoformat(),
        "checks": checks,
        "passed": len(checks),
        "failed": 0,
    }
    return json.dumps(body, indent=2).encode()


def attach_evidence(tenant: Tenant, staff: dict[str, Any], gate_key: str, *, age_days: int = 2) -> None:
    """Attach every applicable attachment requirement of one gate."""
    gate = catalog.gate(gate_key)
    captured = timezone.now() - timedelta(days=age_days)
    for requirement in gate.requirements:
        if requirement.kind != Kind.ATTACHMENT:
            continue
        if requirement.configured_flag and not tenant.is_configured(requirement.configured_flag):
            continue
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


def sign_acceptance(tenant: Tenant, buyer: Any, stage: str, decision: str = AcceptanceDecision.ACCEPTED) -> Any:
    readiness = evaluate(tenant, stage)
    return acceptance_sign(
        tenant=tenant,
        stage=stage,
        decision=decision,
        signer_name=buyer.get_full_name() or buyer.username,
        signer_role="Head of compliance operations",
        recorded_by=buyer,
        exclusions=readiness.do_not_claim,
        residual_risks=["Support communication stays manual during the beta"],
        affirmation="I affirm this decision for my organisation.",
        user_agent="seed_demo",
    )


def new_tenant(slug: str, name: str, staff: dict[str, Any], **flags: Any) -> Tenant:
    return Tenant.objects.create(slug=slug, name=name, commercial_owner=staff["commercial"], **flags)


# Demo customers besides each tenant's buyer sponsor: (username, membership role, name).
EXTRA_BUYERS: dict[str, tuple[tuple[str, str, tuple[str, str]], ...]] = {
    "contoso": (("finance-contoso", MembershipRole.BUYER_FINANCE, ("Fiona", "Contoso")),),
}


def buyer_usernames() -> list[str]:
    """Every demo customer login, in the order the banner lists them."""
    names = []
    for slug in BUILDERS:
        names.append(f"buyer-{slug}")
        names += [username for username, _role, _name in EXTRA_BUYERS.get(slug, ())]
    return names


BUYER_NAMES = {
    "northwind": ("Nadia", "Northcott"),
    "contoso": ("Carlos", "Conti"),
    "globex": ("Grace", "Gallagher"),
    "initech": ("Ivan", "Ito"),
}


@transaction.atomic
def build_northwind(staff: dict[str, Any]) -> Tenant:
    """Draft order form, little evidence: hold."""
    tenant = new_tenant("northwind", "Northwind Traders", staff)
    ensure_buyer(tenant, "buyer-northwind", name=BUYER_NAMES["northwind"])
    scoped_order_form(tenant, staff, requested_stage=LaunchStage.PRIVATE_BETA, sign=False)
    attach_evidence(tenant, staff, "public-deployment")
    return tenant


@transaction.atomic
def build_contoso(staff: dict[str, Any]) -> Tenant:
    """Every gate met but customer acceptance: hold, only gate 9 unmet."""
    tenant = new_tenant(
        "contoso",
        "Contoso Health",
        staff,
        regulated_buyer=True,
        issuer_fixture_configured=True,
        evidence_fixture_configured=True,
        audit_export_configured=True,
    )
    buyer = ensure_buyer(tenant, "buyer-contoso", name=BUYER_NAMES["contoso"])
    for username, role, name in EXTRA_BUYERS["contoso"]:
        ensure_buyer(tenant, username, role=role, name=name)
    scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    complete_billing(tenant, staff, accept_by=buyer)
    support_plan(tenant, staff)
    all_evidence_accepted(tenant, staff)
    return tenant


@transaction.atomic
def build_globex(staff: dict[str, Any]) -> Tenant:
    """Every gate met, signed accepted, live in paid beta."""
    tenant = new_tenant(
        "globex",
        "Globex Corporation",
        staff,
        issuer_fixture_configured=True,
        evidence_fixture_configured=True,
        audit_export_configured=True,
        controlled_send_configured=True,
    )
    buyer = ensure_buyer(tenant, "buyer-globex", name=BUYER_NAMES["globex"])
    scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    complete_billing(tenant, staff, accept_by=buyer)
    support_plan(tenant, staff)
    all_evidence_accepted(tenant, staff)
    sign_acceptance(tenant, buyer, LaunchStage.PAID_BETA)
    stage_move(
        tenant=tenant,
        to_stage=LaunchStage.PAID_BETA,
        reason="Signed acceptance; invoice-led paid beta.",
        by=staff["operator"],
    )
    return tenant


@transaction.atomic
def build_initech(staff: dict[str, Any]) -> Tenant:
    """No billing profile, everything else met, accepted for private beta."""
    tenant = new_tenant("initech", "Initech", staff)
    buyer = ensure_buyer(tenant, "buyer-initech", name=BUYER_NAMES["initech"])
    scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    support_plan(tenant, staff)
    all_evidence_accepted(tenant, staff)
    sign_acceptance(tenant, buyer, LaunchStage.PRIVATE_BETA)
    stage_move(
        tenant=tenant,
        to_stage=LaunchStage.PRIVATE_BETA,
        reason="No-charge private beta while the billing profile is set up.",
        by=staff["operator"],
    )
    return tenant


BUILDERS = {
    "northwind": build_northwind,
    "contoso": build_contoso,
    "globex": build_globex,
    "initech": build_initech,
}
