"""Every history row names who made the change, on every write path: the web, commands,
the shell. Services name their ``by``; nothing relies on a web request."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.db.models import Max
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.history import (
    SYSTEM_USERNAME,
    Running,
    SystemAccountError,
    SystemCommand,
    acting_as,
    current_actor,
    running,
    system_reason,
    system_task,
    system_user,
)
from evidence.models import EvidenceAttachment
from evidence.services import evidence_verify
from launchroom import demo
from launchroom.models import AcceptanceRecord, GateDecision, OrderForm, StageChange, Tenant, TenantReadiness
from tests.factories import ready_tenant

pytestmark = pytest.mark.django_db

DECISION_AND_RECORD_MODELS = [
    "launchroom.GateDecision",
    "launchroom.AcceptanceRecord",
    "launchroom.StageChange",
    "launchroom.DecisionLogEntry",
    "launchroom.Tenant",
    "launchroom.TenantMembership",
    "launchroom.OrderForm",
    "launchroom.SupportPlan",
    "billing.BillingProfile",
    "billing.BillingFallbackAcceptance",
    "evidence.EvidenceAttachment",
]


def history_of(label: str) -> Any:
    return apps.get_model(label).history  # type: ignore[attr-defined]


def test_it_names_an_actor_on_every_history_row_seed_demo_writes(settings: Any) -> None:
    settings.DEBUG = True
    written = history_written(lambda: call_command("seed_demo", stdout=StringIO()))
    for label in DECISION_AND_RECORD_MODELS:
        assert written.get(label), label
    assert_actor_on_every_row(written, system_reason="command seed_demo", system_allowed=False)


# Every command that writes: every history row names someone, the system account when no person acts --


def historical_models() -> list[Any]:
    return [m for m in apps.get_models() if m.__name__.startswith("Historical") and hasattr(m, "history_user")]


def history_written(run: Callable[[], object]) -> dict[str, list[Any]]:
    """The history rows of every historical model written while ``run`` runs, by model label."""
    before = {m: m.objects.aggregate(last=Max("history_id"))["last"] or 0 for m in historical_models()}
    run()
    written = {}
    for model, last in before.items():
        rows = list(model.objects.filter(history_id__gt=last).select_related("history_user"))
        if rows:
            written[model.instance_type._meta.label] = rows
    return written


def assert_actor_on_every_row(
    written: dict[str, list[Any]], *, system_reason: str, system_allowed: bool = True
) -> None:
    assert written, "the command wrote no history: nothing was checked"
    nameless = {label: len([r for r in rows if r.history_user is None]) for label, rows in written.items()}
    assert {label: n for label, n in nameless.items() if n} == {}, "history rows with no actor"
    system = [r for rows in written.values() for r in rows if r.history_user.username == SYSTEM_USERNAME]
    if not system_allowed:
        assert system == []
    for row in system:
        assert row.history_change_reason.startswith(system_reason), row.history_change_reason
        assert f"(OS user {getpass.getuser()})" in row.history_change_reason


def commands_of_ours() -> set[str]:
    return {name for name, app in get_commands().items() if app in ("core", "launchroom", "billing", "evidence")}


# Each command of ours is run below, or writes nothing to the database (the reason why).
WRITE_NOTHING = {
    "verify_decision_log": "reads the decision log",
    "verify_launch_packet": "reads a packet file",
    "verify_proof": "reads a proof file",
    "export_launch_packet": "reads the acceptance and writes a file",
    "flush": "Django's: empties the database (tests/test_truncate.py)",
    "list_awaiting_countersignature": "reads the acceptance records waiting for an operator",
}
LIVE_COMMANDS = ("check_managed_beta_readiness", "launch_proof_bundle", "operator_launch_proof")
COMMANDS = ("seed_demo", "verify_evidence", "refresh_readiness", "run_scheduler", "sweep_pending_evidence")


def test_it_runs_every_command_that_writes() -> None:
    assert commands_of_ours() == {*WRITE_NOTHING, *LIVE_COMMANDS, *COMMANDS}


def test_every_command_of_ours_names_itself() -> None:
    commands = get_commands()
    for name in commands_of_ours():
        assert isinstance(load_command_class(commands[name], name), SystemCommand), name


@pytest.fixture
def globex(db: None) -> Tenant:
    """Evidence files, decisions, a signature and a stage move, and its stored readiness row."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


def stale_stored_row(tenant: Tenant) -> None:
    """Make the stored readiness due and wrong (it is derived: no history), so a refresh writes a transition."""
    TenantReadiness.objects.filter(tenant=tenant).update(
        valid_until=timezone.now() - timedelta(seconds=1), decision="hold", gates={}
    )


def test_verify_evidence_names_the_system_account_and_the_command(globex: Tenant) -> None:
    written = history_written(lambda: call_command("verify_evidence", stdout=StringIO()))
    assert set(written) == {"evidence.EvidenceCheck"}
    assert_actor_on_every_row(written, system_reason="command verify_evidence")
    account = get_user_model().objects.get(username=SYSTEM_USERNAME)
    assert (account.is_active, account.is_staff, account.is_superuser) == (False, False, False)
    assert not account.has_usable_password()
    assert written["evidence.EvidenceCheck"][0].history_user == account


def test_refresh_readiness_and_the_scheduler_name_the_system_account(
    django_capture_on_commit_callbacks: Any, globex: Tenant
) -> None:
    tenant = globex
    stale_stored_row(tenant)
    written = history_written(lambda: call_command("refresh_readiness", stdout=StringIO()))
    assert "launchroom.ReadinessTransition" in written
    assert_actor_on_every_row(written, system_reason="command refresh_readiness")

    stale_stored_row(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        written = history_written(lambda: call_command("run_scheduler", "--once", stdout=StringIO()))
    assert "launchroom.ReadinessTransition" in written
    assert_actor_on_every_row(written, system_reason="task refresh_readiness in command run_scheduler")


def test_sweep_pending_evidence_writes_no_history(globex: Tenant) -> None:
    written = history_written(lambda: call_command("sweep_pending_evidence", stdout=StringIO()))
    assert written == {}


def test_a_service_from_the_shell_names_the_system_account(globex: Tenant, monkeypatch: Any) -> None:
    code = "from evidence.models import EvidenceAttachment as A; from evidence.services import evidence_verify as v; "
    code += "[v(attachment=a) for a in A.objects.all()]"
    # Django's own commands are named by the process, as ``manage.py shell -c ...`` starts it.
    monkeypatch.setattr(sys, "argv", ["manage.py", "shell", "-c", code])
    written = history_written(lambda: call_command("shell", command=code, stdout=StringIO()))
    assert_actor_on_every_row(written, system_reason="command shell")
    monkeypatch.undo()
    # Outside any command the reason names the script (pytest here; an xdist worker is a python -c).
    written = history_written(lambda: evidence_verify(attachment=EvidenceAttachment.objects.first()))
    assert_actor_on_every_row(written, system_reason=("script pytest", "shell"))


def test_a_task_names_itself_and_the_command_or_worker_it_runs_in(monkeypatch: Any) -> None:
    @system_task
    def nightly() -> str:
        return system_reason()

    monkeypatch.setattr(sys, "argv", ["/srv/thesmios/manage.py", "db_worker"])
    assert nightly().startswith("task nightly in command db_worker (OS user ")
    assert system_reason().startswith("command db_worker (OS user ")
    with running(Running(command="run_scheduler")):
        assert nightly().startswith("task nightly in command run_scheduler (OS user ")
    monkeypatch.setattr(sys, "argv", ["ops/job.py"])  # python3 ops/job.py
    assert nightly().startswith("task nightly (OS user ")
    assert system_reason().startswith("script job.py (OS user ")


def test_the_system_account_cannot_be_made_to_log_in(staff: dict[str, Any]) -> None:
    account = system_user()
    account.set_password("guessable")
    account.save()
    with pytest.raises(SystemAccountError):
        system_user()


@pytest.fixture
def proof_env(monkeypatch: Any, settings: Any) -> None:
    monkeypatch.setenv("CONFIRM_OPERATOR_LAUNCH_PROOF", "thesmios-operator-proof")
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", "test-launch-operations-secret")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False  # the live server is plain HTTP


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", LIVE_COMMANDS)
def test_a_proof_command_attaching_its_output_names_the_system_account(
    live_server: Any, proof_env: None, command: str
) -> None:
    """The proof commands attach their own output with ``by=None``: no person acts."""
    Tenant.objects.create(slug="acme", name="Acme")
    args = ["--seed"] if command == "operator_launch_proof" else ["--attach", "acme"]
    written = history_written(lambda: call_command(command, "--url", live_server.url, *args, stdout=StringIO()))
    assert "evidence.EvidenceAttachment" in written
    assert_actor_on_every_row(written, system_reason=f"command {command}")


def test_it_names_the_deciding_user_without_a_request(staff: dict[str, Any]) -> None:
    """No outer actor at all (as from the shell): each service names its own ``by``."""
    assert current_actor() is None
    tenant = demo.build_globex(staff)
    for label in DECISION_AND_RECORD_MODELS:
        assert not history_of(label).filter(history_user__isnull=True).exists(), label
    for decision in GateDecision.objects.filter(tenant=tenant):
        assert decision.history.get().history_user == decision.decided_by
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert record.history.get().history_user == record.recorded_by
    move = StageChange.objects.get(tenant=tenant)
    assert move.history.get().history_user == staff["operator"]
    assert Tenant.history.filter(id=tenant.pk).latest().history_user == staff["operator"]
    order_form = OrderForm.objects.get(tenant=tenant)
    assert [h.history_user for h in order_form.history.order_by("history_date")] == [staff["commercial"]] * 2
    assert current_actor() is None


def test_it_puts_back_the_surrounding_actor(staff: dict[str, Any]) -> None:
    with acting_as(staff["operator"]):
        with acting_as(staff["finance"]):
            assert current_actor() == staff["finance"]
        with acting_as(None):
            assert current_actor() == staff["operator"]
        assert current_actor() == staff["operator"]
    assert current_actor() is None
    assert not hasattr(HistoricalRecords.context, "request")


def test_it_keeps_a_web_request_in_place_after_a_service(client: Any, staff: dict[str, Any]) -> None:
    """A service inside a request puts the request back: later writes still name its user."""
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/move-stage/",
        {"apply": "1", "to_stage": "paused", "reason": "Customer asked to pause."},
    )
    assert response.status_code == 302
    assert Tenant.history.filter(id=tenant.pk).latest().history_user == staff["operator"]
    assert StageChange.objects.get(tenant=tenant).history.get().history_user == staff["operator"]


@pytest.mark.django_db
def test_each_tracked_model_builds_its_history_manager_class_once() -> None:
    tracked = [m for m in apps.get_models() if getattr(m._meta, "simple_history_manager_attribute", None)]
    assert Tenant in tracked and OrderForm in tracked
    for model in tracked:
        assert type(model.history) is type(model.history), model
    # The manager still answers for one instance or the whole model.
    tenant = demo.new_tenant("acme", "Acme Health", demo.ensure_staff())
    assert tenant.history.count() == 1 and Tenant.history.filter(id=tenant.pk).count() == 1
