"""Small factories for the tests: each builds one row, in one line, with what a test needs.

Factories write inputs straight to the database (a tenant, a member, an order form, billing
terms, a support plan, evidence, a gate decision); state the services produce (the decision
log, the stored readiness row, a signed acceptance's snapshot, a stage move) comes from the
real services, called by the helpers at the end of this module::

    tenant = TenantFactory()
    sponsor = MembershipFactory(tenant=tenant).user
    OrderFormFactory(tenant=tenant, signed=True)
    tenant = ready_tenant()            # go for paid beta but the buyer's signature
    tenant = ready_tenant(sign_for="paid_beta", live=True)  # signed (the service), in the beta
    tenant = ready_tenant(accepted_for=["paid_beta"])       # go: an acceptance row, written directly

Staff users are the demo's (``operator``, ``commercial``, ...; ``StaffFactory(role=...)``),
so a test may mix these with the ``staff`` fixture.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from billing.models import BillingFallbackAcceptance, BillingProfile, BillingRoute
from evidence.models import EvidenceAttachment
from launchroom import catalog, demo
from launchroom.acceptance.countersign import acceptance_countersign
from launchroom.catalog import Role
from launchroom.demo_evidence import HAND_UPLOADER, RUN_IN_PROCESS
from launchroom.models import (
    AcceptanceCountersignature,
    AcceptanceDecision,
    AcceptanceRecord,
    CountersignKind,
    GateDecision,
    GateDecisionKind,
    LaunchStage,
    MembershipRole,
    OrderForm,
    OrderFormStatus,
    Stage,
    SupportPlan,
    Tenant,
    TenantMembership,
)
from launchroom.readiness import ledger, projection
from launchroom.readiness.services import stage_move

User = get_user_model()

CONFIG_FLAGS = (
    "issuer_fixture_configured",
    "evidence_fixture_configured",
    "audit_export_configured",
    "controlled_send_configured",
)
EVIDENCE_GATES = tuple(g.key for g in catalog.GATES if g.decided_by is not None)
ATTACHMENT_REQUIREMENTS = tuple((g.key, r.key) for g in catalog.GATES for r in g.attachment_requirements)
# The staff username of each role: the demo's, so that the ``staff`` fixture finds the same users.
STAFF_USERNAME = {role: username for username, role in demo.STAFF.items()}


def _logged(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
    """A decision row gets its link in the tenant's decision log, as every service writes one
    (the ledger's own ``append``); ``logged=False`` leaves it out (a row behind the portal's back)."""
    if create and extracted is not False and (not isinstance(obj, OrderForm) or obj.is_signed):
        ledger.append(obj)


def _countersigned(record: AcceptanceRecord, create: bool, extracted: Any, **kwargs: Any) -> None:
    """An accepted row is countersigned by an operator (docs/RULES.md 5.9), written directly
    and logged like the row; ``countersigned=False`` leaves it awaiting the operator."""
    accepted = record.decision in (AcceptanceDecision.ACCEPTED, AcceptanceDecision.ACCEPTED_WITH_EXCLUSIONS)
    if not create or extracted is False or not accepted or not record.countersign_required:
        return
    operator = staff_user(Role.OPERATOR)
    row = AcceptanceCountersignature.objects.create(
        tenant=record.tenant,
        record=record,
        kind=CountersignKind.COUNTERSIGNED,
        operator=operator,
        operator_name=operator.get_full_name() or operator.get_username(),
        operator_role="Operator",
        signed_at=timezone.now(),
        snapshot_sha256=record.snapshot_sha256,
    )
    ledger.append(row)


# People ---------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory[Any]):
    """A customer user (no staff flag), password ``demo``."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Bea"
    last_name = "Buyer"
    password = Password(demo.DEMO_PASSWORD)


class StaffFactory(DjangoModelFactory[Any]):
    """A staff user in one role's group (the groups come from a data migration); by default the
    demo's user of that role, e.g. ``StaffFactory(role=Role.SECURITY)`` is ``security``."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    role = Role.OPERATOR
    username = factory.LazyAttribute(lambda u: STAFF_USERNAME[u.role])
    email = factory.LazyAttribute(lambda u: f"{u.username}@thesmios.example")
    first_name = factory.LazyAttribute(lambda u: demo.STAFF_NAMES.get(u.username, ("Sam", "Staff"))[0])
    last_name = factory.LazyAttribute(lambda u: demo.STAFF_NAMES.get(u.username, ("Sam", "Staff"))[1])
    is_staff = True
    is_superuser = factory.LazyAttribute(lambda u: u.role == Role.OPERATOR)
    password = Password(demo.DEMO_PASSWORD)

    @classmethod
    def _create(cls, model_class: Any, *args: Any, role: Role, **kwargs: Any) -> Any:
        user = super()._create(model_class, *args, **kwargs)
        user.groups.add(Group.objects.get(name=role))
        return user


def staff_user(role: Role = Role.OPERATOR) -> Any:
    """The demo's staff user of ``role``, in its group (one query once they exist: whoever
    makes them, ``StaffFactory`` or the ``staff`` fixture, puts them in their group)."""
    found = User.objects.filter(username=STAFF_USERNAME[role]).first()
    return found or StaffFactory.create(role=role)


# Tenants and members ---------------------------------------------------------------------


class TenantFactory(DjangoModelFactory[Tenant]):
    """A tenant in setup; ``configured=True`` sets every "configured" flag."""

    class Meta:
        model = Tenant
        skip_postgeneration_save = True
        django_get_or_create = ("slug",)

    class Params:
        configured = factory.Trait(**dict.fromkeys(CONFIG_FLAGS, True))

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())
    commercial_owner = factory.LazyFunction(lambda: staff_user(Role.COMMERCIAL))


class MembershipFactory(DjangoModelFactory[TenantMembership]):
    """A customer member of a tenant: by default its buyer sponsor, user ``buyer-<slug>``."""

    class Meta:
        model = TenantMembership
        skip_postgeneration_save = True
        django_get_or_create = ("tenant", "user")

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(
        UserFactory, username=factory.LazyAttribute(lambda u: f"buyer-{u.factory_parent.tenant.slug}")
    )
    role = MembershipRole.BUYER_SPONSOR


def member(tenant: Tenant, role: str = MembershipRole.BUYER_SPONSOR, username: str = "") -> Any:
    """A user who is a member of ``tenant`` in ``role`` (the sponsor is ``buyer-<slug>``); an
    existing member is returned as they are."""
    if not username:
        username = f"buyer-{tenant.slug}" if role == MembershipRole.BUYER_SPONSOR else f"{role}-{tenant.slug}"
    return MembershipFactory.create(tenant=tenant, role=role, user=UserFactory.create(username=username)).user


# Order forms, billing, support ----------------------------------------------------------


class OrderFormFactory(DjangoModelFactory[OrderForm]):
    """A scoped order-form version (the standing exclusions listed): a draft, or with
    ``sent=True`` / ``signed=True``."""

    class Meta:
        model = OrderForm
        skip_postgeneration_save = True

    class Params:
        sent = factory.Trait(
            status=OrderFormStatus.SENT,
            sent_at=factory.LazyFunction(timezone.now),
            sent_by=factory.LazyFunction(lambda: staff_user(Role.COMMERCIAL)),
        )
        signed = factory.Trait(
            status=OrderFormStatus.SIGNED,
            approval_reference=factory.LazyAttribute(lambda o: f"PO-{o.tenant.slug.upper()}-{o.version:02d}"),
            signed_at=factory.LazyFunction(timezone.now),
            signer_name="Bea Buyer",
            recorded_by=factory.LazyFunction(lambda: staff_user(Role.COMMERCIAL)),
        )

    tenant = factory.SubFactory(TenantFactory)
    version = factory.LazyAttribute(lambda o: OrderForm.objects.filter(tenant=o.tenant).count() + 1)
    requested_stage = LaunchStage.PAID_BETA
    compliance_modules = "Right-to-work verification\nProfessional licence checks"
    cohort_description = "Pilot cohort: site supervisors in two regions"
    cohort_size = 120
    verifier_audience = "HR compliance team"
    data_boundaries = "EU data residency"
    excluded_claims = "\n".join(catalog.STANDING_EXCLUSIONS)
    acceptance_language = "The buyer accepts the managed beta for the scoped cohort and modules."
    status = OrderFormStatus.DRAFT
    logged = factory.PostGeneration(_logged)


class BillingProfileFactory(DjangoModelFactory[BillingProfile]):
    """Complete billing terms; ``accepted_by=<buyer>`` adds the buyer's acceptance of the
    manual billing fallback for those terms (its append-only record, as the service writes)."""

    class Meta:
        model = BillingProfile
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    route = BillingRoute.INVOICE_ONLY
    billing_owner_name = "Accounts payable"
    billing_owner_email = factory.LazyAttribute(lambda p: f"ap@{p.tenant.slug}.example")
    po_terms = "Net 30 against a purchase order"
    invoice_contact = factory.LazyAttribute(lambda p: f"invoices@{p.tenant.slug}.example")
    plan = "Managed beta"
    seat_cap = 150
    renewal_terms = "Quarterly"
    cancellation_terms = "30 days' notice"

    @factory.post_generation
    def accepted_by(obj: BillingProfile, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted is not None:
            BillingFallbackAcceptanceFactory.create(profile=obj, accepted_by=extracted)


class BillingFallbackAcceptanceFactory(DjangoModelFactory[BillingFallbackAcceptance]):
    """The buyer's acceptance of the profile's terms as they stand; the profile points at it."""

    class Meta:
        model = BillingFallbackAcceptance
        skip_postgeneration_save = True

    profile = factory.SubFactory(BillingProfileFactory)
    tenant = factory.SelfAttribute("profile.tenant")
    accepted_by = factory.LazyAttribute(lambda a: member(a.profile.tenant, MembershipRole.BUYER_FINANCE))
    accepted_name = factory.LazyAttribute(lambda a: a.accepted_by.get_full_name() or a.accepted_by.username)
    accepted_at = factory.LazyFunction(timezone.now)
    terms = factory.LazyAttribute(lambda a: a.profile.terms())
    terms_sha256 = factory.LazyAttribute(lambda a: a.profile.terms_sha256())

    @factory.post_generation
    def point_profile(obj: BillingFallbackAcceptance, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            profile = obj.profile
            profile.fallback_acceptance = obj
            profile.fallback_accepted_by = obj.accepted_by
            profile.fallback_accepted_name = obj.accepted_name
            profile.fallback_accepted_at = obj.accepted_at
            profile.fallback_terms_sha256 = obj.terms_sha256
            profile.save()

    logged = factory.PostGeneration(_logged)


class SupportPlanFactory(DjangoModelFactory[SupportPlan]):
    class Meta:
        model = SupportPlan
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    support_owner = factory.LazyFunction(lambda: staff_user(Role.SUPPORT))
    support_owner_name = "Priya Patel"
    support_owner_email = "support@thesmios.example"
    escalation_route = "Support owner, then the on-call operator"
    manual_incident_channel = "Shared channel and the sponsor's direct line"
    manual_notice_process = "The support owner e-mails every subscriber by hand within 30 minutes"
    status_subscribers = factory.LazyAttribute(lambda p: f"sponsor@{p.tenant.slug}.example")


# Evidence and decisions -----------------------------------------------------------------


HAND_NOTE = "Sample output for a test, uploaded by hand"


def hand_uploader(gate_key: str) -> Any:
    """The staff user who uploads ``gate_key``'s evidence by hand in the demo (not its decider)."""
    return staff_user(demo.STAFF[HAND_UPLOADER.get(gate_key, "operator")])


class EvidenceAttachmentFactory(DjangoModelFactory[EvidenceAttachment]):
    """A small stored file for one attachment requirement, its SHA-256 and size computed from
    the bytes as ``evidence_attach`` does; ``age_days`` dates its capture back.

    Its provenance is the demo's (``launchroom.demo_evidence``): the output of the proof command
    that attaches that requirement (no uploader), else a hand upload, with a note, by the staff
    member who uploads that gate's samples (never its decider). ``uploaded_by=<user>``,
    ``produced_by_command=...`` and ``note=...`` say otherwise."""

    class Meta:
        model = EvidenceAttachment
        skip_postgeneration_save = True
        exclude = ("content", "age_days")

    tenant = factory.SubFactory(TenantFactory)
    gate_key = "public-deployment"
    requirement_key = factory.LazyAttribute(lambda a: catalog.GATES_BY_KEY[a.gate_key].attachment_requirements[0].key)
    age_days = 1
    content = factory.LazyAttribute(lambda a: f"{a.gate_key}/{a.requirement_key} output for {a.tenant.slug}\n".encode())
    file = factory.LazyAttribute(lambda a: ContentFile(a.content, name=f"{a.requirement_key}.txt"))
    original_name = factory.LazyAttribute(lambda a: f"{a.requirement_key}.txt")
    sha256 = factory.LazyAttribute(lambda a: hashlib.sha256(a.content).hexdigest())
    size = factory.LazyAttribute(lambda a: len(a.content))
    content_type = "text/plain"
    captured_at = factory.LazyAttribute(lambda a: timezone.now() - timedelta(days=a.age_days))
    produced_by_command = factory.LazyAttribute(lambda a: RUN_IN_PROCESS.get((a.gate_key, a.requirement_key), ""))
    uploaded_by = factory.LazyAttribute(lambda a: None if a.produced_by_command else hand_uploader(a.gate_key))
    note = factory.LazyAttribute(lambda a: "" if a.produced_by_command else HAND_NOTE)


class GateDecisionFactory(DjangoModelFactory[GateDecision]):
    """An owner's decision on an evidence gate, by the demo's staff user of the deciding role."""

    class Meta:
        model = GateDecision
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    gate_key = "public-deployment"
    decision = GateDecisionKind.ACCEPTED
    note = factory.LazyAttribute(lambda d: f"{d.decision} in a test")
    decided_by = factory.LazyAttribute(
        lambda d: staff_user(catalog.GATES_BY_KEY[d.gate_key].decided_by or Role.OPERATOR)
    )
    decided_at = factory.LazyFunction(timezone.now)
    logged = factory.PostGeneration(_logged)


class AcceptanceRecordFactory(DjangoModelFactory[AcceptanceRecord]):
    """A buyer's acceptance row written directly (its snapshot hash a placeholder): for tests
    of the record itself and of the readiness rules. A signature the certificate can check:
    ``sign``."""

    class Meta:
        model = AcceptanceRecord
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    stage = LaunchStage.PAID_BETA
    decision = AcceptanceDecision.ACCEPTED
    signer_name = "Bea Buyer"
    signer_role = "Sponsor"
    signer_email = "bea@example.com"
    recorded_by = factory.LazyAttribute(lambda r: member(r.tenant))
    signer = factory.SelfAttribute("recorded_by")
    approval_reference = factory.LazyAttribute(lambda r: r.order_form.approval_reference if r.order_form else "none")
    signed_at = factory.LazyFunction(timezone.now)
    snapshot_sha256 = "0" * 64
    logged = factory.PostGeneration(_logged)
    countersigned = factory.PostGeneration(
        lambda record, create, extracted, **kw: _countersigned(record, create, extracted)
    )


# States ---------------------------------------------------------------------------------


def attach_all(
    tenant: Tenant,
    *,
    omit: Collection[str | tuple[str, str]] = (),
    age_days: float = 1,
    ages: Mapping[tuple[str, str], float] | None = None,
) -> list[EvidenceAttachment]:
    """One file for every attachment requirement that counts for ``tenant``, except the gates
    and the ``(gate, requirement)`` pairs in ``omit``; ``ages`` dates single ones back."""
    ages = ages or {}
    uploaders: dict[str, Any] = {}  # each gate's hand uploader, looked up once
    rows = []
    for gate_key, requirement_key in ATTACHMENT_REQUIREMENTS:
        flag = catalog.requirement(gate_key, requirement_key).configured_flag
        if gate_key in omit or (gate_key, requirement_key) in omit or (flag and not getattr(tenant, flag)):
            continue
        command = RUN_IN_PROCESS.get((gate_key, requirement_key), "")
        if not command and gate_key not in uploaders:
            uploaders[gate_key] = hand_uploader(gate_key)
        rows.append(
            EvidenceAttachmentFactory.create(
                tenant=tenant,
                gate_key=gate_key,
                requirement_key=requirement_key,
                age_days=ages.get((gate_key, requirement_key), age_days),
                uploaded_by=uploaders.get(gate_key) if not command else None,
            )
        )
    return rows


def accept_all(tenant: Tenant, *, omit: Collection[str | tuple[str, str]] = ()) -> list[GateDecision]:
    """Each evidence gate accepted by its deciding role, except the gates in ``omit``."""
    deciders = {
        role: staff_user(role) for role in {catalog.gate(key).decided_by or Role.OPERATOR for key in EVIDENCE_GATES}
    }
    return [
        GateDecisionFactory.create(
            tenant=tenant, gate_key=key, decided_by=deciders[catalog.gate(key).decided_by or Role.OPERATOR]
        )
        for key in EVIDENCE_GATES
        if key not in omit
    ]


def sign(tenant: Tenant, stage: str = LaunchStage.PAID_BETA, *, by: Any = None, decision: str = "accepted") -> Any:
    """The buyer sponsor signs ``stage`` through the real service (snapshot, decision log)."""
    buyer = by or User.objects.get(username=f"buyer-{tenant.slug}")
    return demo.sign_acceptance(tenant, buyer, stage, decision)


def countersign(record: AcceptanceRecord, *, by: Any = None) -> Any:
    """An operator (not the one who recorded it) countersigns ``record`` through the service."""
    return acceptance_countersign(record=record, by=by or staff_user(Role.OPERATOR))


def ready_tenant(
    slug: str = "",
    *,
    name: str = "",
    requested_stage: str = LaunchStage.PAID_BETA,
    stage: str = Stage.SETUP,
    regulated: bool = False,
    configured: Collection[str] = CONFIG_FLAGS,
    without: Collection[str | tuple[str, str]] = (),
    ages: Mapping[tuple[str, str], float] | None = None,
    decisions: Mapping[str, str | None] | None = None,
    accepted_for: Collection[str] = (),
    sign_for: str | None = None,
    live: bool = False,
) -> Tenant:
    """A tenant in ``stage`` with its buyer sponsor ``buyer-<slug>`` that meets every gate for
    ``requested_stage`` except the buyer's acceptance (docs/RULES.md sections 3 and 4), with
    the ``configured`` flags set.

    ``without`` leaves parts out: gate keys (no evidence and no decision for them),
    ``(gate, requirement)`` pairs (no evidence for that one), ``"order-form"`` (a draft
    instead of a signed one), ``"billing"`` (no profile), ``"billing-acceptance"`` (terms, not
    accepted), ``"support"`` (no support plan). ``ages`` dates single attachments back;
    ``decisions`` overrides (or, with None, leaves out) an evidence gate's decision.

    The buyer's acceptance, either way: ``accepted_for=<stages>`` writes acceptance rows
    directly, countersigned (placeholder snapshots; for the readiness rules), ``sign_for=<stage>``
    stores the readiness row, then has the sponsor sign that stage through the service;
    ``live=True`` then has an operator countersign it and moves the tenant into it (the
    operator, through ``stage_move``).
    """
    flags = {flag: flag in configured for flag in CONFIG_FLAGS}
    tenant = TenantFactory.create(
        **({"slug": slug} if slug else {}),
        **({"name": name} if name else {}),
        stage=stage,
        regulated_buyer=regulated,
        **flags,
    )
    buyer = member(tenant)
    order_form = OrderFormFactory.create(
        tenant=tenant, requested_stage=requested_stage, signed="order-form" not in without
    )
    if "billing" not in without:
        BillingProfileFactory.create(tenant=tenant, accepted_by=None if "billing-acceptance" in without else buyer)
    if "support" not in without:
        SupportPlanFactory.create(tenant=tenant)
    attach_all(tenant, omit=without, ages=ages)
    decisions = decisions or {}
    accept_all(tenant, omit=[*without, *decisions])
    for key, kind in decisions.items():
        if kind is not None:
            GateDecisionFactory.create(tenant=tenant, gate_key=key, decision=kind)
    for accepted_stage in accepted_for:
        AcceptanceRecordFactory.create(
            tenant=tenant,
            stage=accepted_stage,
            order_form=order_form if order_form.is_signed else None,
            recorded_by=buyer,
        )
    if sign_for is not None:
        # The stored readiness row the services keep, as refresh_readiness first writes it for
        # a tenant that has none: the signature's transition then starts from it.
        projection.project(tenant_id=tenant.pk, cause="refresh_readiness: first evaluation")
        record = sign(tenant, sign_for, by=buyer)
        if live:
            countersign(record)  # docs/RULES.md 5.9: a stage move needs the countersigned record
            stage_move(tenant=tenant, to_stage=sign_for, reason="Signed acceptance.", by=staff_user(Role.OPERATOR))
            tenant.refresh_from_db()
    return tenant


def draft_tenant(slug: str = "", *, name: str = "", stage: str = LaunchStage.PRIVATE_BETA) -> Tenant:
    """A tenant at the start: its buyer sponsor ``buyer-<slug>`` and a draft order form for
    ``stage``, nothing else (no evidence, no decisions): hold."""
    tenant = TenantFactory.create(**({"slug": slug} if slug else {}), **({"name": name} if name else {}))
    member(tenant)
    OrderFormFactory.create(tenant=tenant, requested_stage=stage)
    return tenant


def attach_gate(tenant: Tenant, gate_key: str, *, age_days: float = 1) -> list[EvidenceAttachment]:
    """One file for each attachment requirement of one gate (ready for its owner's review)."""
    return attach_all(tenant, omit=[g.key for g in catalog.GATES if g.key != gate_key], age_days=age_days)
