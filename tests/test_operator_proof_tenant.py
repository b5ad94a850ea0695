"""operator_launch_proof --tenant SLUG against the live server, the demo's gate 5 and 6, gate 7's
manual notice process, and the public page's portal equivalents of the seed's commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom import catalog, demo
from launchroom.models import LaunchStage, TenantMembership
from launchroom.public import copy
from launchroom.readiness.evaluation import MISSING, evaluate
from launchroom.support.services import support_plan_save

SECRET = "test-launch-operations-secret"
GATE5 = "tenant-access-proof"


@pytest.fixture
def proof_env(monkeypatch, settings, tmp_path):
    monkeypatch.setenv("CONFIRM_OPERATOR_LAUNCH_PROOF", "thesmios-operator-proof")
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", SECRET)
    monkeypatch.setenv("CONFIRM_LAUNCH_OPERATOR_SEED", "thesmios-launch-seed")
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.MEDIA_ROOT = tmp_path / "media"


def customer(staff, *, signed: bool):
    tenant = demo.new_tenant("acme", "Acme Staffing", staff)
    demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PRIVATE_BETA, sign=signed)
    return tenant


def run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("operator_launch_proof", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def earlier_evidence(tenant, staff):
    """Evidence the tenant has before the proof: what its download checks download."""
    return evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["security"],
        output="launch smoke output",
    )


def test_it_proves_a_customer_tenant_and_attaches_all_of_gate_5(live_server, proof_env, staff, tmp_path):
    tenant = customer(staff, signed=True)
    earlier = earlier_evidence(tenant, staff)
    output = tmp_path / "proof.json"

    out, error = run(
        "--tenant", "acme", "--seed", "--include-fixtures", "--url", live_server.url, "--output", str(output)
    )

    assert error is None, out
    for line in (
        "PASSED  owner sees the tenant launch room",
        "PASSED  granted employer sees the tenant launch room",
        "PASSED  denied employer gets 404 for the tenant launch room",
        "PASSED  denied employer's launch-room list does not name the tenant",
        "PASSED  fixture: owner downloads evidence",
        "PASSED  fixture: granted employer downloads evidence",
        "PASSED  fixture: denied employer gets 404 for evidence",
        "PASSED  fixture: anonymous visitor gets 404 for evidence",
        "SKIPPED fixture: evidence fixture",
    ):
        assert line in out
    proof = json.loads(output.read_text())
    assert proof["passed"] and proof["scope"] == "customer tenant" and proof["fixture"]["tenant"] == "acme"
    assert (proof["url"], proof["transport"]) == (live_server.url + "/", "http")
    gate5 = EvidenceAttachment.objects.filter(tenant=tenant, gate_key=GATE5)
    assert sorted(a.requirement_key for a in gate5) == ["access-smoke", "launch-room-snapshot", "operator-seed-run"]
    assert {(a.produced_by_command, a.uploaded_by_id) for a in gate5} == {("operator_launch_proof", None)}
    snapshot = json.loads(gate5.get(requirement_key="launch-room-snapshot").file.read())
    assert (
        snapshot["status"] == 200 and snapshot["path"] == "/launch-room/acme/" and "Acme Staffing" in snapshot["text"]
    )
    assert evaluate(tenant).gate(GATE5).status == "ready_for_review"
    # The three gate-5 rows and nothing else: the downloads probed the evidence the tenant had,
    # and gate 6's fixtures run on the platform deployment.
    assert set(EvidenceAttachment.objects.filter(tenant=tenant).exclude(gate_key=GATE5)) == {earlier}

    users = get_user_model().objects.filter(username__startswith="launch-proof-acme-")
    assert users.count() == 3
    for user in users:
        assert not user.is_active and not user.has_usable_password()
    denied = users.get(username="launch-proof-acme-denied")
    assert not TenantMembership.objects.filter(user=denied).exists()
    assert not TenantMembership.objects.filter(tenant__slug__startswith="launch-proof-").exists()


def test_a_failing_run_with_fixtures_leaves_no_row_that_counts_toward_any_requirement(
    live_server, proof_env, staff, settings
):
    tenant = customer(staff, signed=True)
    earlier = earlier_evidence(tenant, staff)  # so the download checks run, and fail
    before = evaluate(tenant).evidence_references()
    settings.CSRF_COOKIE_SECURE = True  # Secure cookies over plain HTTP: every login fails

    out, error = run("--tenant", "acme", "--seed", "--include-fixtures", "--url", live_server.url)

    assert error is not None and "checks failed: nothing attached" in str(error)
    assert "FAILED  fixture: owner downloads evidence" in out
    assert list(EvidenceAttachment.objects.all()) == [earlier]
    assert evaluate(tenant).evidence_references() == before


def test_it_refuses_a_tenant_whose_order_form_is_not_signed(live_server, proof_env, staff):
    tenant = customer(staff, signed=False)
    out, error = run("--tenant", "acme", "--seed", "--include-fixtures", "--url", live_server.url)
    assert error is not None and "the order form of acme is not signed" in str(error)
    assert not EvidenceAttachment.objects.filter(tenant=tenant).exists()
    assert not get_user_model().objects.filter(username__startswith="launch-proof-").exists()
    assert "PASSED" not in out


def test_it_refuses_to_seed_a_customer_tenant_without_the_seed_confirmation(live_server, proof_env, staff, monkeypatch):
    customer(staff, signed=True)
    monkeypatch.delenv("CONFIRM_LAUNCH_OPERATOR_SEED")
    _out, error = run("--tenant", "acme", "--seed", "--url", live_server.url)
    assert error is not None and "CONFIRM_LAUNCH_OPERATOR_SEED=thesmios-launch-seed" in str(error)
    assert not get_user_model().objects.filter(username__startswith="launch-proof-").exists()


def test_an_unknown_tenant_is_refused(db, proof_env):
    _out, error = run("--tenant", "nobody", "--seed", "--url", "http://127.0.0.1:9/")
    assert error is not None and "no tenant 'nobody'" in str(error)


# The demo's gate 5 and 6 ---------------------------------------------------------------------


def test_the_demo_builds_gate_5_through_the_proof_and_labels_gate_6_samples(staff, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    tenant = demo.build_contoso(staff)
    gate5 = EvidenceAttachment.objects.filter(tenant=tenant, gate_key=GATE5)
    assert {a.requirement_key for a in gate5} == {"operator-seed-run", "access-smoke", "launch-room-snapshot"}
    assert {a.produced_by_command for a in gate5} == {"operator_launch_proof"}
    proof = json.loads(gate5.get(requirement_key="access-smoke").file.read())
    assert proof["url"] == "in-process" and proof["transport"].startswith("in-process: Django's test client")
    # The downloads probed evidence contoso already had (gates 1 and 2), and passed.
    assert [c["status"] for c in proof["checks"] if c["name"].endswith(" evidence")] == ["passed"] * 4
    # Every gate-6 fixture, the evidence job's included, is a labelled sample: none is the proof's.
    samples = EvidenceAttachment.objects.filter(tenant=tenant, gate_key="credential-evidence-proof")
    assert sorted(s.requirement_key for s in samples) == [
        "audit-export-fixture",
        "evidence-fixture",
        "issuer-fixture",
        "privacy-fixture",
    ]
    for sample in samples:
        assert sample.produced_by_command == "" and sample.uploaded_by == staff["security"]
        assert sample.note.startswith("Sample output for the demo")
        assert json.loads(sample.file.read())["sample"] is True
    # Nobody accepted their own upload: the operator decided gate 6 on the security owner's samples.
    assert evaluate(tenant).gate("credential-evidence-proof").status == "accepted"


# Gate 7 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["escalation_route", "manual_notice_process"])
def test_an_empty_escalation_route_or_notice_process_leaves_gate_7_missing(staff, field):
    tenant = demo.new_tenant("acme", "Acme", staff)
    demo.support_plan(tenant, staff)
    assert not any("escalation" in r or "notice" in r for r in evaluate(tenant).gate("support-fallback").reasons)
    support_plan_save(tenant=tenant, by=staff["support"], **{field: "  "})
    gate = evaluate(tenant).gate("support-fallback")
    assert gate.status == MISSING
    label = "escalation route" if field == "escalation_route" else "manual notice process"
    assert f"no {label}" in gate.reasons


# The public page -------------------------------------------------------------------------------


def test_every_seed_command_has_a_portal_equivalent_or_a_platform_note(client):
    commands = [
        item for gate in catalog.GATES for item in gate.required_evidence if "check:" in item or "SEED=" in item
    ]
    assert len(commands) >= 9
    page = client.get("/managed-beta").content.decode()
    data = client.get("/api/product/managed-beta-readiness").json()
    for item in commands:
        note = copy.PORTAL_EQUIVALENTS[item]
        assert note.startswith("In this portal: ") or "runs on the Thesmios platform deployment" in note.replace(
            "Runs", "runs"
        )
        assert "npm" not in note
    for fixture in ("issuer", "evidence", "audit-export", "privacy"):
        item = next(i for i in commands if i.startswith(f"check:{fixture}-fixture"))
        assert copy.PORTAL_EQUIVALENTS[item].startswith("Runs on the Thesmios platform deployment, not in this portal")
    assert "python manage.py operator_launch_proof --tenant &lt;slug&gt; --seed --include-fixtures" in page
    gate2 = next(g for g in data["gates"] if g["key"] == "strict-proof-plan")
    assert "launch_proof_bundle" in gate2["portal_equivalents"][2]
