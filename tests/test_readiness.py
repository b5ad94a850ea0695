"""The readiness engine (docs/RULES.md section 4): one case per gate status and effect, the demo decisions,
and the query budget of ``evaluate`` and of the portfolio (``load_tenants`` then ``evaluate``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from evidence.models import EvidenceAttachment, EvidenceCheck
from launchroom import catalog
from launchroom.models import AcceptanceDecision, LaunchStage, Tenant
from launchroom.readiness.evaluation import (
    ACCEPTED,
    GO,
    HOLD,
    MISSING,
    READY_FOR_REVIEW,
    REJECTED,
    STALE,
    evaluate,
)
from launchroom.readiness.selectors import load, load_tenants
from tests.factories import (
    AcceptanceRecordFactory,
    BillingProfileFactory,
    EvidenceAttachmentFactory,
    OrderFormFactory,
    ready_tenant,
)
from tests.launch_helpers import like_demo

PAID = LaunchStage.PAID_BETA
PRIVATE = LaunchStage.PRIVATE_BETA
GATE6_CLAIMS = ("production credential signing", "evidence controls", "audit export", "privacy fulfilment")


def _integrity_failure(tenant: Tenant) -> None:
    attachment = EvidenceAttachment.objects.get(
        tenant=tenant, gate_key="public-deployment", requirement_key="launch-smoke"
    )
    EvidenceCheck.objects.create(attachment=attachment, checked_at=timezone.now(), ok=False, detail="sha256 mismatch")


def _acceptance(decision: str) -> Callable[[Tenant], None]:
    def mutate(tenant: Tenant) -> None:
        current = tenant.acceptance_records.get()
        AcceptanceRecordFactory(tenant=tenant, decision=decision, order_form=current.order_form, supersedes=current)

    return mutate


def _new_signed_version(**kwargs: Any) -> Callable[[Tenant], None]:
    def mutate(tenant: Tenant) -> None:
        OrderFormFactory(tenant=tenant, signed=True, **kwargs)

    return mutate


def _unaccepted_billing(tenant: Tenant) -> None:
    BillingProfileFactory(tenant=tenant)


def _changed_billing_terms(tenant: Tenant) -> None:
    profile = tenant.billing_profile
    profile.seat_cap = 500
    profile.save()


def _fresh_replacement(tenant: Tenant) -> None:
    EvidenceAttachmentFactory(tenant=tenant, gate_key="public-deployment", requirement_key="launch-smoke", age_days=0)


def _nothing(tenant: Tenant) -> None:
    return None


# (id, ready_tenant kwargs, mutation, stage, gate, gate status, decision, expected reason fragment)
STATUS_CASES = [
    ("accepted", {}, _nothing, PAID, "public-deployment", ACCEPTED, GO, ""),
    (
        "missing-attachment",
        {"without": {("public-deployment", "launch-smoke")}},
        _nothing,
        PAID,
        "public-deployment",
        MISSING,
        HOLD,
        "Launch smoke output is missing",
    ),
    (
        "stale-by-age",
        {"ages": {("public-deployment", "launch-smoke"): 31}},
        _nothing,
        PAID,
        "public-deployment",
        STALE,
        HOLD,
        "is older than 30 days",
    ),
    (
        "fresh-replacement-clears-stale",
        {"ages": {("public-deployment", "launch-smoke"): 31}},
        _fresh_replacement,
        PAID,
        "public-deployment",
        ACCEPTED,
        GO,
        "",
    ),
    (
        "no-freshness-limit-never-stale",
        {"ages": {("public-deployment", "deployment-url"): 400}},
        _nothing,
        PAID,
        "public-deployment",
        ACCEPTED,
        GO,
        "",
    ),
    (
        "stale-by-integrity",
        {},
        _integrity_failure,
        PAID,
        "public-deployment",
        STALE,
        HOLD,
        "failed its integrity check (sha256 mismatch)",
    ),
    (
        "ready-for-review",
        {"decisions": {"public-deployment": None}},
        _nothing,
        PAID,
        "public-deployment",
        READY_FOR_REVIEW,
        HOLD,
        "awaiting a decision by the operator",
    ),
    (
        "reopened-is-ready-for-review",
        {"decisions": {"strict-proof-plan": "reopened"}},
        _nothing,
        PAID,
        "strict-proof-plan",
        READY_FOR_REVIEW,
        HOLD,
        "awaiting a decision",
    ),
    (
        "rejected-by-owner",
        {"decisions": {"tenant-access-proof": "rejected"}},
        _nothing,
        PAID,
        "tenant-access-proof",
        REJECTED,
        HOLD,
        "rejected: rejected in a test",
    ),
    (
        "record-gate-3-missing-on-draft",
        {"without": ["order-form"], "accepted_for": []},
        _nothing,
        PAID,
        "order-form-scope",
        MISSING,
        HOLD,
        "no signed order form (v1 is draft)",
    ),
    (
        "record-gate-9-rejected-when-deferred",
        {},
        _acceptance(AcceptanceDecision.DEFERRED),
        PAID,
        "customer-acceptance",
        REJECTED,
        HOLD,
        "the buyer deferred",
    ),
    (
        "record-gate-9-rejected-when-rejected",
        {},
        _acceptance(AcceptanceDecision.REJECTED),
        PAID,
        "customer-acceptance",
        REJECTED,
        HOLD,
        "the buyer rejected",
    ),
    (
        "record-gate-9-missing-when-withdrawn",
        {},
        _acceptance(AcceptanceDecision.SUPERSEDED),
        PAID,
        "customer-acceptance",
        MISSING,
        HOLD,
        "was withdrawn",
    ),
    (
        "record-gate-9-missing-for-another-stage",
        {"accepted_for": [PRIVATE]},
        _nothing,
        PAID,
        "customer-acceptance",
        MISSING,
        HOLD,
        "no acceptance record for paid beta",
    ),
    (
        "record-gate-9-stale-after-newer-signed-order-form",
        {},
        _new_signed_version(),
        PAID,
        "customer-acceptance",
        STALE,
        HOLD,
        "order form v2 was signed after this acceptance (v1)",
    ),
    (
        "record-gate-10-missing-without-exclusions",
        {},
        _new_signed_version(excluded_claims="\n".join(catalog.STANDING_EXCLUSIONS[:3])),
        PAID,
        "self-serve-exclusions",
        MISSING,
        HOLD,
        catalog.STANDING_EXCLUSIONS[3],
    ),
    (
        "record-gate-4-missing-without-fallback-acceptance",
        {"without": ["billing"]},
        _unaccepted_billing,
        PAID,
        "billing-route",
        MISSING,
        HOLD,
        "has not accepted the manual billing fallback",
    ),
    (
        "record-gate-4-missing-after-terms-change",
        {},
        _changed_billing_terms,
        PAID,
        "billing-route",
        MISSING,
        HOLD,
        "terms changed after the buyer accepted",
    ),
    (
        "record-gate-7-missing-without-support-plan",
        {"without": ["support"]},
        _nothing,
        PAID,
        "support-fallback",
        MISSING,
        GO,  # gate 7 only restricts claims
        "no named support owner",
    ),
]


@pytest.mark.parametrize(
    ("build", "mutate", "stage", "gate_key", "status", "decision", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in STATUS_CASES],
)
def test_it_gives_each_gate_status(db, build, mutate, stage, gate_key, status, decision, reason):
    tenant = ready_tenant(**{"accepted_for": [PAID], **build})
    mutate(tenant)

    readiness = evaluate(tenant, stage)
    result = readiness.gate(gate_key)

    assert result.status == status
    assert readiness.decision == decision
    if reason:
        assert any(reason in r for r in result.reasons), result.reasons
    assert (status == ACCEPTED) == result.met
    if status != ACCEPTED and result.effect == catalog.Effect.HOLD:
        assert any(r.startswith(result.gate.title) for r in readiness.hold_reasons)


# (id, ready_tenant kwargs, stage, gate, effect, in force, decision, claims expected in do-not-claim)
EFFECT_CASES = [
    (
        "hold",
        {"without": {("strict-proof-plan", "production-proof-json")}},
        PRIVATE,
        "strict-proof-plan",
        "HOLD",
        True,
        HOLD,
        (),
    ),
    (
        "cap-not-in-force-for-private-beta",
        {"without": ["billing"], "accepted_for": [PRIVATE]},
        PRIVATE,
        "billing-route",
        "CAP",
        False,
        GO,
        (),
    ),
    ("cap-in-force-for-paid-beta", {"without": ["billing"]}, PAID, "billing-route", "CAP", True, HOLD, ()),
    (
        "claims-gate-6",
        {"without": {("credential-evidence-proof", "privacy-fixture")}},
        PAID,
        "credential-evidence-proof",
        "CLAIMS",
        True,
        GO,
        GATE6_CLAIMS,
    ),
    (
        "claims-gate-7",
        {"without": {("support-fallback", "broadcast-dry-run")}},
        PAID,
        "support-fallback",
        "CLAIMS",
        True,
        GO,
        ("automated email delivery",),
    ),
    (
        "gate-8-holds-a-regulated-buyer",
        {"regulated": True, "without": {("security-procurement-pack", "dpia-or-risk-decision")}},
        PAID,
        "security-procurement-pack",
        "HOLD",
        True,
        HOLD,
        ("buyer security review accepted",),
    ),
    (
        "gate-8-only-restricts-claims-otherwise",
        {"regulated": False, "without": {("security-procurement-pack", "dpia-or-risk-decision")}},
        PAID,
        "security-procurement-pack",
        "CLAIMS",
        True,
        GO,
        ("buyer security review accepted",),
    ),
]


@pytest.mark.parametrize(
    ("build", "stage", "gate_key", "effect", "in_force", "decision", "claims"),
    [pytest.param(*case[1:], id=case[0]) for case in EFFECT_CASES],
)
def test_it_applies_each_gate_effect(db, build, stage, gate_key, effect, in_force, decision, claims):
    readiness = evaluate(ready_tenant(**{"accepted_for": [PAID], **build}), stage)
    result = readiness.gate(gate_key)

    assert str(result.effect) == effect
    assert result.in_force is in_force
    assert readiness.decision == decision
    for claim in claims:
        assert claim in readiness.do_not_claim
    assert readiness.do_not_claim[: len(catalog.STANDING_EXCLUSIONS)] == list(catalog.STANDING_EXCLUSIONS)


def test_it_caps_at_private_beta_with_the_seed_reason(db):
    tenant = ready_tenant(without=["billing"], accepted_for=[PRIVATE, PAID])

    assert evaluate(tenant, PRIVATE).decision == GO
    paid = evaluate(tenant, PAID)
    assert paid.decision == HOLD
    assert paid.hold_reasons == ["Invoice or order-form billing route: run a no-charge private beta only"]
    assert paid.unmet_gates == [paid.gate("billing-route")]


def test_it_adds_no_claim_when_every_gate_is_met(db):
    readiness = evaluate(ready_tenant(accepted_for=[PAID]), PAID)

    assert readiness.decision == GO
    assert readiness.hold_reasons == []
    assert readiness.do_not_claim == list(catalog.STANDING_EXCLUSIONS)
    assert readiness.next_actions == {}


# (id, configured flags, requirement omitted, requirement state, gate status, claim, claim in do-not-claim)
CONDITIONAL_CASES = [
    ("not-configured-and-absent", (), True, "not_applicable", ACCEPTED, "production credential signing", True),
    (
        "configured-and-absent",
        ("issuer_fixture_configured",),
        True,
        MISSING,
        MISSING,
        "production credential signing",
        True,
    ),
    (
        "configured-and-present",
        ("issuer_fixture_configured",),
        False,
        "met",
        ACCEPTED,
        "production credential signing",
        False,
    ),
]


@pytest.mark.parametrize(
    ("configured", "omitted", "state", "status", "claim", "excluded"),
    [pytest.param(*case[1:], id=case[0]) for case in CONDITIONAL_CASES],
)
def test_it_counts_a_conditional_requirement_only_when_configured(
    db, configured, omitted, state, status, claim, excluded
):
    omit = {("credential-evidence-proof", "issuer-fixture")} if omitted else set()
    all_other_flags = ("evidence_fixture_configured", "audit_export_configured", "controlled_send_configured")
    tenant = ready_tenant(configured=(*configured, *all_other_flags), without=omit, accepted_for=[PAID])

    readiness = evaluate(tenant, PAID)
    result = readiness.gate("credential-evidence-proof")
    requirement = next(r for r in result.requirements if r.requirement.key == "issuer-fixture")

    assert requirement.requirement.conditional
    assert requirement.state == state
    assert result.status == status
    assert (claim in readiness.do_not_claim) is excluded
    assert readiness.decision == GO  # gate 6 only ever restricts claims


def test_it_excludes_automated_email_without_a_controlled_send(db):
    tenant = ready_tenant(configured=("issuer_fixture_configured",))

    readiness = evaluate(tenant, PAID)

    assert readiness.gate("support-fallback").status == ACCEPTED
    assert "automated email delivery" in readiness.do_not_claim
    assert "evidence controls" in readiness.do_not_claim
    assert "production credential signing" not in readiness.do_not_claim


def test_it_defaults_to_the_latest_order_forms_requested_stage(db):
    bare = Tenant.objects.create(slug="bare", name="Bare")
    assert evaluate(bare).stage == PRIVATE

    OrderFormFactory(tenant=bare, requested_stage=PAID)
    assert evaluate(bare).stage == PAID


def test_it_refuses_an_unknown_stage(db):
    with pytest.raises(ValueError, match="stage must be one of"):
        evaluate(Tenant.objects.create(slug="t", name="T"), "live")


def test_it_names_next_actions_per_owner(db):
    tenant = ready_tenant(
        without={("public-deployment", "launch-smoke")},
        decisions={"security-procurement-pack": None},
        accepted_for=[PAID],
    )

    actions = evaluate(tenant, PAID).next_actions

    assert actions["Operator"] == ["Run launch_proof_bundle and attach its output."]
    assert actions["Security owner"] == [
        "Review the evidence and decide gate 8: Security, privacy, and procurement pack."
    ]


def test_it_gives_itself_as_json(db):
    data = evaluate(ready_tenant(without={("public-deployment", "api-smoke")}, accepted_for=[PAID]), PAID).as_json()

    assert set(data) == {"tenant", "stage", "decision", "gates", "hold_reasons", "do_not_claim", "next_actions"}
    gate1 = data["gates"][0]
    assert {"key", "title", "status", "effect", "reasons", "requirements"} <= set(gate1)
    assert [(r["key"], r["met"]) for r in gate1["requirements"]] == [
        ("deployment-url", True),
        ("launch-smoke", True),
        ("api-smoke", False),
        ("readiness-advisory", True),
    ]


# The demo tenants' decisions (docs/RULES.md section 9), in their states as like_demo makes them.


def test_demo_globex_is_go_for_paid_beta(db):
    readiness = evaluate(like_demo("globex"))

    assert (readiness.stage, readiness.decision) == (PAID, GO)


def test_demo_initech_is_go_for_private_and_hold_for_paid(db):
    tenant = like_demo("initech")

    assert evaluate(tenant, PRIVATE).decision == GO
    paid = evaluate(tenant)
    assert (paid.stage, paid.decision) == (PAID, HOLD)
    assert paid.gate("billing-route").status == MISSING
    # The buyer accepted the private beta only, so paid beta also lacks its own acceptance.
    assert [g.gate.key for g in paid.gates if g.blocks] == ["billing-route", "customer-acceptance"]
    assert any("run a no-charge private beta only" in reason for reason in paid.hold_reasons)


def test_demo_contoso_holds_on_customer_acceptance_only(db):
    readiness = evaluate(like_demo("contoso"))

    assert (readiness.stage, readiness.decision) == (PAID, HOLD)
    assert [g.gate.key for g in readiness.unmet_gates] == ["customer-acceptance"]


def test_demo_northwind_holds_on_order_form_scope(db):
    readiness = evaluate(like_demo("northwind"))

    assert (readiness.stage, readiness.decision) == (PRIVATE, HOLD)
    assert readiness.gate("order-form-scope").status == MISSING
    assert any(r.startswith("Customer order-form scope") for r in readiness.hold_reasons)


# Query budget: at most 8 for one tenant, at most 5 for the whole portfolio, at 1 and 50 tenants.


def _tenants(count: int) -> list[Tenant]:
    tenants = [ready_tenant(f"t{i:02d}", regulated=i % 2 == 0, accepted_for=[PAID]) for i in range(count)]
    for tenant in tenants[::3]:
        AcceptanceRecordFactory(
            tenant=tenant,
            decision=AcceptanceDecision.DEFERRED,
            order_form=tenant.order_forms.get(),
            supersedes=tenant.acceptance_records.get(),
        )
        EvidenceAttachmentFactory(
            tenant=tenant, gate_key="public-deployment", requirement_key="launch-smoke", age_days=0
        )
    return tenants


@pytest.mark.parametrize("count", [1, 50])
def test_it_evaluates_one_tenant_in_at_most_8_queries(db, django_assert_max_num_queries, count):
    tenant = _tenants(count)[-1]
    tenant = Tenant.objects.get(pk=tenant.pk)

    with django_assert_max_num_queries(8):
        readiness = evaluate(tenant)
        readiness.as_json()
        readiness.evidence_references()

    assert readiness.decision in (GO, HOLD)


def evaluate_portfolio_as_the_dashboard_does() -> list[Any]:
    """Every tenant for its requested stage: one bulk load, then the pure ``evaluate``."""
    now = timezone.now()
    return [evaluate(data, now=now) for data in load_tenants(Tenant.objects.all(), lean=True)]


@pytest.mark.parametrize("count", [1, 50])
def test_it_evaluates_the_portfolio_in_at_most_5_queries(db, django_assert_max_num_queries, count):
    _tenants(count)

    with django_assert_max_num_queries(5):
        results = evaluate_portfolio_as_the_dashboard_does()
        for readiness in results:
            readiness.as_json()

    assert len(results) == count


def test_it_reuses_what_it_loaded(db, django_assert_num_queries):
    data = load(ready_tenant(accepted_for=[PAID]))

    with django_assert_num_queries(0):
        readiness = evaluate(data, PAID)
        [a.display_name for a in readiness.data.attachments]
        [d.decided_by.username for d in readiness.data.decisions]


def test_it_keeps_stale_evidence_stale_everywhere(db):
    tenant = ready_tenant("stale", ages={("public-deployment", "launch-smoke"): 45}, accepted_for=[PAID])

    portfolio = {r.tenant.slug: r for r in evaluate_portfolio_as_the_dashboard_does()}

    assert portfolio["stale"].gate("public-deployment").status == STALE
    assert evaluate(tenant, PAID).gate("public-deployment").status == STALE
