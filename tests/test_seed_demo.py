"""seed_demo builds the four demo tenants once, and a second run changes nothing but what it
must. The module seeds once (the first run); each test is a later run, rolled back after it.
The refusal in production, which needs an empty database, is in test_seed_demo_production.py."""

import hashlib
import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test.utils import override_settings

from core.hashing import canonical_json
from evidence.models import EvidenceAttachment
from launchroom import catalog, demo_evidence
from launchroom.models import AcceptanceRecord, GateDecision, StageChange, SupportPlan, Tenant
from launchroom.proofs.inprocess import expected_refusals, in_process_run
from launchroom.proofs.operator_run import DEMO_OPERATIONS_SECRET, operations_secret, sign
from launchroom.proofs.smoke import IN_PROCESS_TRANSPORT
from launchroom.readiness.evaluation import evaluate
from launchroom.support.services import render_broadcast
from launchroom.tenants.services import has_role
from tests.launch_helpers import module_state

pytestmark = pytest.mark.django_db


def first_run() -> None:
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=StringIO())


_seeded = module_state(first_run)


def counts():
    return {
        model.__name__: model.objects.count()
        for model in [Tenant, GateDecision, AcceptanceRecord, StageChange, EvidenceAttachment, get_user_model()]
    }


def test_it_is_idempotent(settings):
    settings.DEBUG = True
    first = counts()
    assert first["Tenant"] == 4
    call_command("seed_demo", stdout=StringIO())
    assert counts() == first


def test_it_builds_the_states_of_spec_section_8():
    stages = dict(Tenant.objects.values_list("slug", "stage"))
    assert stages == {"northwind": "setup", "contoso": "setup", "globex": "paid_beta", "initech": "private_beta"}
    contoso = evaluate(Tenant.objects.get(slug="contoso"))
    assert (contoso.stage, contoso.decision) == ("paid_beta", "hold")
    assert [g.gate.key for g in contoso.unmet_gates] == ["customer-acceptance"]
    assert evaluate(Tenant.objects.get(slug="globex"), "paid_beta").is_go
    initech = Tenant.objects.get(slug="initech")
    assert evaluate(initech, "private_beta").is_go
    assert not evaluate(initech, "paid_beta").is_go
    northwind = evaluate(Tenant.objects.get(slug="northwind"))
    assert (northwind.stage, northwind.decision) == ("private_beta", "hold")
    users = set(get_user_model().objects.values_list("username", flat=True))
    assert {
        "operator",
        "commercial",
        "finance",
        "security",
        "support",
        "buyer-northwind",
        "buyer-contoso",
        "buyer-globex",
        "buyer-initech",
    } <= users
    assert get_user_model().objects.get(username="operator").is_superuser


def test_it_keeps_passwords_on_a_restart_unless_asked_to_reset_them(settings):
    settings.DEBUG = True
    user = get_user_model().objects.get(username="buyer-contoso")
    user.set_password("my-own-password-42")
    user.save()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert get_user_model().objects.get(username="buyer-contoso").check_password("my-own-password-42")
    assert "finance-contoso" in out.getvalue()
    call_command("seed_demo", "--reset-passwords", stdout=StringIO())
    assert get_user_model().objects.get(username="buyer-contoso").check_password("demo")


def test_it_adds_the_finance_contoso_user_to_an_existing_demo(settings):
    settings.DEBUG = True
    get_user_model().objects.filter(username="finance-contoso").delete()
    call_command("seed_demo", stdout=StringIO())
    finance = get_user_model().objects.get(username="finance-contoso")
    assert finance.check_password("demo")
    assert finance.memberships.get().role == "buyer_finance"


# Every demo row is either a command's real output or a labelled sample ---------------------------


def demo_rows():
    tenants = Tenant.objects.filter(slug__in=["northwind", "contoso", "globex", "initech"])
    rows = list(EvidenceAttachment.objects.filter(tenant__in=tenants).select_related("tenant", "uploaded_by"))
    assert {row.tenant.slug for row in rows} == {"northwind", "contoso", "globex", "initech"}
    return rows


def content(row) -> dict:
    with row.file.open("rb") as handle:
        return json.loads(handle.read())


def self_hashed(report: dict) -> bool:
    body = {k: v for k, v in report.items() if k not in ("sha256", "signature")}
    return report["sha256"] == hashlib.sha256(canonical_json(body).encode()).hexdigest()


def test_every_row_that_names_a_command_is_that_commands_real_output():
    rows = [row for row in demo_rows() if row.produced_by_command]
    by_command = {row.produced_by_command for row in rows}
    # No controlled send happened in the demo, so no row claims one.
    assert by_command == {
        "launch_proof_bundle",
        "check_managed_beta_readiness",
        "operator_launch_proof",
        "status_broadcast_dry_run",
    }
    # The public checks' reports have exactly the checks a run of the command's code makes now.
    fresh = {}
    for command, (checks, _name) in demo_evidence.RUNNERS.items():
        run = in_process_run(command)
        with expected_refusals():
            checks(run)
        fresh[command] = [(r.name, r.status) for r in run.results]
    secret = operations_secret() or DEMO_OPERATIONS_SECRET
    proofs = {}
    for row in rows:
        data = content(row)
        assert data["command"] == row.produced_by_command, row
        if row.produced_by_command in fresh:
            assert (data["url"], data["transport"]) == ("in-process", IN_PROCESS_TRANSPORT)
            assert self_hashed(data) and data["passed"] is True
            assert [(c["name"], c["status"]) for c in data["checks"]] == fresh[row.produced_by_command]
            assert (row.gate_key, row.requirement_key) in demo_evidence.RUN_IN_PROCESS
        elif row.produced_by_command == "operator_launch_proof" and data.get("kind") == "launch_room_snapshot":
            assert data["url"] == "in-process" and data["tenant"] == row.tenant.slug
        elif row.produced_by_command == "operator_launch_proof":
            body = {k: v for k, v in data.items() if k != "signature"}
            assert data["signature"] == sign(body, secret) and self_hashed(data)
            assert data["passed"] is True and data["url"] == "in-process"
            assert data["fixture"]["tenant"] == row.tenant.slug
            proofs[row.tenant.slug] = data["sha256"]
        else:  # the support owner's dry run: exactly what the broadcast renders for the plan
            plan = SupportPlan.objects.get(tenant=row.tenant)
            rendered = [(m.to, m.subject, m.body) for m in render_broadcast(plan)]
            assert [(m["to"], m["subject"], m["body"]) for m in data["messages"]] == rendered
            assert data["sent"] is False and row.uploaded_by.username == data["run_by"] == "support"
    snapshots = [row for row in rows if row.requirement_key == "launch-room-snapshot"]
    assert {row.tenant.slug for row in snapshots} == {"contoso", "globex", "initech"}
    for row in snapshots:
        assert content(row)["proof_sha256"] == proofs[row.tenant.slug]


def test_every_other_row_is_a_labelled_sample_uploaded_by_someone_other_than_the_decider():
    rows = [row for row in demo_rows() if not row.produced_by_command]
    assert {row.requirement_key for row in rows} >= {"deployment-url", "evidence-fixture", "controlled-send"}
    for row in rows:
        gate = catalog.gate(row.gate_key)
        assert row.note.startswith("Sample output for the demo, uploaded by hand: "), row
        assert row.uploaded_by is not None and not has_role(row.uploaded_by, gate.decided_by), row
        if row.file:
            assert content(row)["sample"] is True and content(row)["label"].startswith("SAMPLE OUTPUT")
