"""Demo data builders: each step is done through the services, by the role that would do it.

``seed_demo`` uses these to build the four tenants of docs/RULES.md section 9; the tests use the
same steps to build tenants in any state.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from billing.models import BillingProfile, BillingRoute
from billing.services import billing_fallback_accept, billing_profile_save
from core.history import acting_as
from core.types import User
from launchroom.acceptance.countersign import acceptance_countersign
from launchroom.acceptance.services import acceptance_sign
from launchroom.catalog import Role
from launchroom.conversation.services import comment_add
from launchroom.demo_evidence import (
    all_evidence_accepted,
    attach_evidence,
)
from launchroom.models import (
    AcceptanceDecision,
    AcceptanceRecord,
    LaunchStage,
    MembershipRole,
    OrderForm,
    Severity,
    SupportPlan,
    Tenant,
    TenantMembership,
)
from launchroom.orderforms.services import order_form_create, order_form_sign
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import stage_move
from launchroom.support.services import incident_open, support_plan_save
from launchroom.tenants.roles import sync_groups
from launchroom.tenants.services import tenant_create

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


def _set_password(user: User, created: bool, password: str | None) -> None:
    """A new user gets the demo password; an existing one keeps theirs (so a restart logs nobody
    out) unless a password is given explicitly (``seed_demo --reset-passwords``, the bench)."""
    if password is not None:
        user.set_password(password)
    elif created or not user.has_usable_password():
        user.set_password(DEMO_PASSWORD)


def ensure_staff(password: str | None = None) -> dict[str, Any]:
    """The five staff users, each in their role's group (``operator`` is also superuser).

    Writes only what is missing or different: run again (every test asks for the staff, and
    ``make run`` seeds on every start) it reads the users and their groups and saves nothing."""

    def role_groups() -> dict[str, Group]:
        return {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}

    groups = role_groups()
    if len(groups) != len(Role):
        # The groups come from a data migration; a flushed test database has lost them.
        sync_groups()
        groups = role_groups()
    existing: dict[str, User] = {u.username: u for u in User.objects.filter(username__in=list(STAFF))}
    in_groups = set(User.groups.through.objects.filter(user__in=existing.values()).values_list("user_id", "group_id"))
    users = {}
    for username, role in STAFF.items():
        first, last = STAFF_NAMES[username]
        created = username not in existing
        user = existing.get(username) or User(
            username=username, email=f"{username}@thesmios.example", first_name=first, last_name=last
        )
        before = (user.is_staff, user.is_superuser, user.password)
        user.is_staff = True
        user.is_superuser = username == "operator"
        _set_password(user, created, password)
        if created or before != (user.is_staff, user.is_superuser, user.password):
            user.save()
        group = groups[role.value]
        if (user.pk, group.pk) not in in_groups:
            user.groups.add(group)
        users[username] = user
    return users


def ensure_buyer(
    tenant: Tenant,
    username: str,
    *,
    role: str = MembershipRole.BUYER_SPONSOR,
    password: str | None = None,
    name: tuple[str, str] = ("Bea", "Buyer"),
) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@{tenant.slug}.example", "first_name": name[0], "last_name": name[1]},
    )
    _set_password(user, created, password)
    user.save()
    # Buyers are invited by the tenant's commercial owner; the demo adds them directly.
    with acting_as(tenant.commercial_owner):
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
            # The person who signed for the customer: the buyer sponsor, by name.
            signer_name=" ".join(BUYER_NAMES.get(tenant.slug, ("Alex", "Morgan"))),
            by=staff["commercial"],
        )
    return order_form


def complete_billing(tenant: Tenant, staff: dict[str, Any], *, accept_by: User | None) -> BillingProfile:
    profile = billing_profile_save(
        tenant=tenant,
        by=staff["finance"],
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
        manual_notice_process="The support owner drafts each notice, the on-call operator checks it, and it goes "
        "to every status subscriber by hand within 30 minutes of a SEV1 or SEV2; each notice is recorded on the "
        "incident.",
        status_subscribers=f"sponsor@{tenant.slug}.example\nit-ops@{tenant.slug}.example",
    )


def sign_acceptance(
    tenant: Tenant, buyer: User, stage: str, decision: str = AcceptanceDecision.ACCEPTED
) -> AcceptanceRecord:
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
    return tenant_create(by=staff["commercial"], name=name, slug=slug, commercial_owner=staff["commercial"], **flags)


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
    comment_add(
        tenant=tenant,
        author=staff["commercial"],
        gate_key="order-form-scope",
        body="Welcome to your launch room. Your order form is still a draft: we send it to you for review this week.",
    )
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
    comment_add(
        tenant=tenant,
        author=buyer,
        gate_key="billing-route",
        body="Our purchase orders need a cost centre: can the invoice carry CC-4410?",
    )
    comment_add(
        tenant=tenant,
        author=staff["finance"],
        gate_key="billing-route",
        body="Yes: every invoice will carry cost centre CC-4410.",
    )
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
    record = sign_acceptance(tenant, buyer, LaunchStage.PAID_BETA)
    acceptance_countersign(record=record, by=staff["operator"], note="Countersigned: the launch is as signed.")
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
    record = sign_acceptance(tenant, buyer, LaunchStage.PRIVATE_BETA)
    acceptance_countersign(record=record, by=staff["operator"], note="Countersigned for the private beta.")
    stage_move(
        tenant=tenant,
        to_stage=LaunchStage.PRIVATE_BETA,
        reason="No-charge private beta while the billing profile is set up.",
        by=staff["operator"],
    )
    incident_open(
        tenant=tenant,
        severity=Severity.SEV3,
        summary="Slow evidence uploads for some users",
        customer_impact="Uploads over 10 MB take up to a minute; nothing is lost.",
        by=staff["support"],
    )
    return tenant


BUILDERS = {
    "northwind": build_northwind,
    "contoso": build_contoso,
    "globex": build_globex,
    "initech": build_initech,
}
