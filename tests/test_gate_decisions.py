"""Gate decisions (docs/RULES.md section 4): who may decide, when accepting is refused, and that rows last."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from core.append_only import AppendOnlyError
from core.errors import NotPermitted, Refused
from launchroom import demo
from launchroom.catalog import Role
from launchroom.models import GateDecision, Tenant
from launchroom.readiness.evaluation import ACCEPTED, READY_FOR_REVIEW, REJECTED, evaluate
from launchroom.readiness.services import gate_decide
from tests.factories import EvidenceAttachmentFactory


@pytest.fixture
def tenant(db) -> Tenant:
    return Tenant.objects.create(slug="acme", name="Acme")


def decide(tenant, gate_key, user, decision="accepted", note="Checked against the acceptance text."):
    return gate_decide(tenant=tenant, gate_key=gate_key, decision=decision, note=note, by=user)


# (gate, the role that decides it, staff who may not)
ROLE_CASES = [
    ("public-deployment", "operator", ["commercial", "finance", "security", "support"]),
    ("strict-proof-plan", "operator", ["security", "support"]),
    ("tenant-access-proof", "operator", ["security", "finance"]),
    ("credential-evidence-proof", "operator", ["support", "commercial"]),
    ("support-fallback", "support", ["operator", "security"]),
    ("security-procurement-pack", "security", ["operator", "support"]),
]


@pytest.mark.parametrize(("gate_key", "decider", "others"), ROLE_CASES)
def test_it_lets_only_the_deciding_role_decide(staff, tenant, gate_key, decider, others):
    demo.support_plan(tenant, staff)
    demo.attach_evidence(tenant, staff, gate_key)

    for username in others:
        with pytest.raises(NotPermitted, match="is decided by the"):
            decide(tenant, gate_key, staff[username])
    assert not GateDecision.objects.filter(tenant=tenant).exists()

    # The hand-uploaded evidence of gates 1 and 8 is someone else's, so the decider may accept.
    row = decide(tenant, gate_key, staff[decider])
    assert row.decision == "accepted"
    assert evaluate(tenant).gate(gate_key).status == ACCEPTED


def test_it_does_not_exempt_a_superuser_without_the_role(staff, tenant):
    demo.attach_evidence(tenant, staff, "security-procurement-pack")
    # ``operator`` is the demo superuser, yet gate 8 is the security owner's.
    with pytest.raises(NotPermitted):
        decide(tenant, "security-procurement-pack", staff["operator"])


def test_it_refuses_a_decision_on_a_record_gate(staff, tenant):
    with pytest.raises(Refused, match="record gate"):
        decide(tenant, "customer-acceptance", staff["operator"])


def test_it_refuses_an_unknown_gate_a_bad_decision_or_no_note(staff, tenant):
    with pytest.raises(ValidationError) as unknown:
        decide(tenant, "no-such-gate", staff["operator"])
    assert "gate_key" in unknown.value.message_dict
    with pytest.raises(ValidationError) as bad:
        decide(tenant, "public-deployment", staff["operator"], decision="maybe")
    assert "decision" in bad.value.message_dict
    with pytest.raises(ValidationError) as blank:
        decide(tenant, "public-deployment", staff["operator"], note="  ")
    assert "note" in blank.value.message_dict
    assert not GateDecision.objects.exists()


def attach(tenant, gate_key, requirement_key, by, *, command="", age_days=1):
    """One attachment uploaded by ``by`` (by hand unless ``command`` names the proof command)."""
    EvidenceAttachmentFactory(
        tenant=tenant,
        gate_key=gate_key,
        requirement_key=requirement_key,
        uploaded_by=by,
        produced_by_command=command,
        age_days=age_days,
    )


def test_it_refuses_to_accept_while_requirements_are_unmet_and_lists_them(staff, tenant):
    attach(tenant, "tenant-access-proof", "operator-seed-run", staff["security"])

    with pytest.raises(Refused) as refused:
        decide(tenant, "tenant-access-proof", staff["operator"])

    assert refused.value.reasons == [
        "Cannot accept gate 5: Owner, granted-employer and denied-employer smoke results is missing.",
        "Cannot accept gate 5: Authenticated launch-room snapshot is missing.",
    ]
    assert not GateDecision.objects.exists()


def test_it_refuses_to_accept_stale_evidence(staff, tenant):
    for key in ("operator-seed-run", "access-smoke", "launch-room-snapshot"):
        attach(tenant, "tenant-access-proof", key, staff["security"], age_days=60 if key == "access-smoke" else 1)

    with pytest.raises(Refused, match="is older than 30 days"):
        decide(tenant, "tenant-access-proof", staff["operator"])


def test_it_refuses_self_approval_of_hand_uploaded_evidence(staff, tenant):
    for key in ("security-assurance-pack", "procurement-evidence-pack", "operations-evidence-pack"):
        attach(tenant, "security-procurement-pack", key, staff["operator"])
    attach(tenant, "security-procurement-pack", "dpia-or-risk-decision", staff["security"])

    with pytest.raises(Refused) as refused:
        decide(tenant, "security-procurement-pack", staff["security"])

    assert refused.value.reasons == [
        "You uploaded the dpia-or-risk-decision evidence yourself: another security owner must accept it."
    ]
    assert not GateDecision.objects.exists()

    # A second security owner may accept it.
    colleague = demo.User.objects.create(username="security-2", is_staff=True)
    colleague.groups.add(Group.objects.get(name=Role.SECURITY.value))
    decide(tenant, "security-procurement-pack", colleague)
    assert evaluate(tenant).gate("security-procurement-pack").status == ACCEPTED


def test_it_does_not_count_command_output_as_self_approval(staff, tenant):
    operator = staff["operator"]
    attach(tenant, "public-deployment", "deployment-url", staff["security"])
    for key in ("launch-smoke", "api-smoke"):
        attach(tenant, "public-deployment", key, operator, command="launch_proof_bundle")
    attach(tenant, "public-deployment", "readiness-advisory", None, command="check_managed_beta_readiness")

    decide(tenant, "public-deployment", operator)

    assert evaluate(tenant).gate("public-deployment").status == ACCEPTED


def test_it_lets_the_owner_reject_and_reopen_with_a_note(staff, tenant):
    demo.support_plan(tenant, staff)  # the broadcast dry-run needs the plan's subscribers
    demo.attach_evidence(tenant, staff, "support-fallback")
    support = staff["support"]

    decide(tenant, "support-fallback", support, decision="rejected", note="The dry-run lists no subscribers.")
    result = evaluate(tenant).gate("support-fallback")
    assert result.status == REJECTED
    assert "rejected: The dry-run lists no subscribers." in result.reasons

    decide(tenant, "support-fallback", support, decision="reopened", note="Subscribers added; please look again.")
    assert evaluate(tenant).gate("support-fallback").status == READY_FOR_REVIEW


def test_it_keeps_decision_rows_append_only_with_history(staff, tenant):
    demo.attach_evidence(tenant, staff, "strict-proof-plan")
    row = decide(tenant, "strict-proof-plan", staff["operator"])

    row.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        GateDecision.objects.filter(pk=row.pk).update(note="rewritten")
    with pytest.raises(AppendOnlyError):
        GateDecision.objects.filter(pk=row.pk).delete()

    stored = GateDecision.objects.get(pk=row.pk)
    assert stored.note == "Checked against the acceptance text."
    assert stored.decided_by == staff["operator"]
    assert stored.history.count() == 1
    assert tenant.decision_log.filter(kind="gate_decision", object_id=row.pk).exists()


def test_it_keeps_every_decision_and_reads_the_latest(staff, tenant):
    demo.attach_evidence(tenant, staff, "strict-proof-plan")
    operator = staff["operator"]
    decide(tenant, "strict-proof-plan", operator)
    decide(tenant, "strict-proof-plan", operator, decision="reopened", note="New proof groups published.")
    decide(tenant, "strict-proof-plan", operator)

    assert list(GateDecision.objects.filter(tenant=tenant).order_by("id").values_list("decision", flat=True)) == [
        "accepted",
        "reopened",
        "accepted",
    ]
    assert evaluate(tenant).gate("strict-proof-plan").status == ACCEPTED
