"""operator_launch_proof and verify_proof, against the live test server over real HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from evidence.models import EvidenceAttachment
from launchroom.models import Tenant, TenantMembership

SECRET = "test-launch-operations-secret"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proof_env(monkeypatch, settings):
    monkeypatch.setenv("CONFIRM_OPERATOR_LAUNCH_PROOF", "thesmios-operator-proof")
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", SECRET)
    # The live server speaks plain HTTP; production cookies are Secure and would not come back.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


def run_command(name: str, *args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Refusal ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"CONFIRM_OPERATOR_LAUNCH_PROOF": "thesmios-operator-proof"},
        {"LAUNCH_OPERATIONS_SECRET": SECRET},
        {"CONFIRM_OPERATOR_LAUNCH_PROOF": "yes", "LAUNCH_OPERATIONS_SECRET": SECRET},
    ],
)
def test_it_is_refused_unless_both_variables_are_set(db, monkeypatch, settings, env):
    settings.LAUNCH_OPERATIONS_SECRET = ""
    monkeypatch.delenv("CONFIRM_OPERATOR_LAUNCH_PROOF", raising=False)
    monkeypatch.delenv("LAUNCH_OPERATIONS_SECRET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    _out, error = run_command("operator_launch_proof", "--seed", "--url", "http://127.0.0.1:9/")
    assert error is not None
    message = str(error)
    assert "CONFIRM_OPERATOR_LAUNCH_PROOF=thesmios-operator-proof" in message
    assert "LAUNCH_OPERATIONS_SECRET" in message
    assert not Tenant.objects.exists()


def test_the_refusal_is_one_line_and_exit_1_from_the_shell(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("CONFIRM_OPERATOR_LAUNCH_PROOF", "LAUNCH_OPERATIONS_SECRET")
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "manage.py", "operator_launch_proof", "--seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "CONFIRM_OPERATOR_LAUNCH_PROOF" in done.stderr and "LAUNCH_OPERATIONS_SECRET" in done.stderr


def test_a_dead_url_is_one_line_and_seeds_nothing(db, proof_env):
    url = f"http://127.0.0.1:{free_port()}/"
    _out, error = run_command("operator_launch_proof", "--seed", "--url", url)
    assert error is not None
    assert str(error).startswith(f"cannot reach {url}accounts/login/")
    assert "\n" not in str(error)
    assert not Tenant.objects.exists()


def test_a_wrong_url_is_refused_before_seeding(live_server, proof_env):
    _out, error = run_command("operator_launch_proof", "--seed", "--url", f"{live_server.url}/healthz/")
    assert error is not None and "does not look like this portal: nothing seeded" in str(error)
    assert "accounts/login/ answered 404, expected 200" in str(error)
    assert not Tenant.objects.filter(slug="launch-proof-fixture").exists()


# The proof against the live server -------------------------------------------------------------


def test_it_proves_tenant_access_as_three_users_and_signs_the_proof(live_server, proof_env, tmp_path):
    output = tmp_path / "proof.json"

    out, error = run_command("operator_launch_proof", "--seed", "--url", live_server.url, "--output", str(output))

    assert error is None, out
    for line in (
        "PASSED  owner logs in",
        "PASSED  granted logs in",
        "PASSED  denied logs in",
        "PASSED  owner sees the fixture launch room",
        "PASSED  granted employer sees the fixture launch room",
        "PASSED  denied employer gets 404 for the fixture launch room",
        "PASSED  denied employer sees their own launch room",
    ):
        assert line in out
    proof = json.loads(output.read_text())
    assert proof["passed"] is True and proof["command"] == "operator_launch_proof"
    assert proof["fixture"]["tenant"] == "launch-proof-fixture"
    assert proof["launch_room_snapshot"]["status"] == 200
    assert len(proof["signature"]) == 64

    tenant = Tenant.objects.get(slug="launch-proof-fixture")
    attached = EvidenceAttachment.objects.filter(tenant=tenant, gate_key="tenant-access-proof")
    assert sorted(a.requirement_key for a in attached) == ["access-smoke", "operator-seed-run"]
    assert {a.produced_by_command for a in attached} == {"operator_launch_proof"}
    assert {a.sha256 for a in attached} == {hashlib.sha256(output.read_bytes()).hexdigest()}

    # The passwords were random, never shown, and are useless now.
    for user in get_user_model().objects.filter(username__startswith="launch-proof-"):
        assert not user.has_usable_password()
    assert "password" not in out.replace("passwords renewed", "")

    verified, error = run_command("verify_proof", str(output))
    assert error is None
    assert verified.startswith(f"OK {output}: valid HMAC-SHA256 signature")


def test_it_is_idempotent(live_server, proof_env):
    for _ in range(2):
        out, error = run_command("operator_launch_proof", "--seed", "--url", live_server.url)
        assert error is None, out
    assert "already present, passwords renewed" in out
    assert Tenant.objects.filter(slug__startswith="launch-proof-").count() == 2
    denied = get_user_model().objects.get(username="launch-proof-denied")
    assert list(TenantMembership.objects.filter(user=denied).values_list("tenant__slug", flat=True)) == [
        "launch-proof-other"
    ]
    assert EvidenceAttachment.objects.filter(requirement_key="access-smoke").count() == 2


def test_it_moves_a_denied_user_who_was_made_a_member_back_out(live_server, proof_env):
    run_command("operator_launch_proof", "--seed", "--url", live_server.url)
    denied = get_user_model().objects.get(username="launch-proof-denied")
    TenantMembership.objects.create(user=denied, tenant=Tenant.objects.get(slug="launch-proof-fixture"))
    out, error = run_command("operator_launch_proof", "--seed", "--url", live_server.url)
    assert error is None, out
    assert "PASSED  denied employer gets 404 for the fixture launch room" in out


def test_a_failing_check_fails_the_run_and_attaches_nothing(live_server, proof_env, settings, tmp_path):
    # Production cookie settings against a plain-HTTP URL: the logins cannot work.
    settings.CSRF_COOKIE_SECURE = True
    output = tmp_path / "proof.json"
    out, error = run_command(
        "operator_launch_proof", "--seed", "--include-fixtures", "--url", live_server.url, "--output", str(output)
    )
    assert error is not None and "checks failed: nothing attached" in str(error)
    assert "FAILED  owner logs in: the login was refused by CSRF protection (the portal's cookies are Secure" in out
    # Nothing at all: no gate 5 proof, and no file the run made to test downloads with.
    assert not EvidenceAttachment.objects.exists()
    proof = json.loads(output.read_text())
    assert proof["passed"] is False
    verified, error = run_command("verify_proof", str(output))  # a failed proof is still a signed record
    assert error is None and "FAILED" in verified


def test_include_fixtures_adds_the_portal_checks_it_can_honestly_make_and_attaches_nothing_to_gate_6(
    live_server, proof_env, tmp_path
):
    # A fresh fixture tenant has no evidence to download: the checks say so, and attach none to test with.
    out, error = run_command("operator_launch_proof", "--seed", "--include-fixtures", "--url", live_server.url)
    assert error is None, out
    assert "SKIPPED fixture: owner downloads evidence: launch-proof-fixture has no evidence file yet" in out
    first = set(EvidenceAttachment.objects.values_list("pk", flat=True))
    assert len(first) == 2  # gate 5's seed run and access smoke, nothing else

    output = tmp_path / "proof.json"
    out, error = run_command(
        "operator_launch_proof", "--seed", "--include-fixtures", "--url", live_server.url, "--output", str(output)
    )
    assert error is None, out
    for line in (
        "PASSED  fixture: owner downloads evidence: ",
        "PASSED  fixture: granted employer downloads evidence",
        "PASSED  fixture: denied employer gets 404 for evidence",
        "PASSED  fixture: anonymous visitor gets 404 for evidence",
        "PASSED  fixture: owner reads the readiness API",
        "PASSED  fixture: denied employer gets 404 from the readiness API",
        "SKIPPED fixture: issuer fixture",
        "SKIPPED fixture: evidence fixture: the evidence job fixture runs on the platform deployment",
        "SKIPPED fixture: audit export fixture",
        "SKIPPED fixture: privacy fixture",
        "Nothing attached to gate 6: its fixtures run on the platform deployment",
    ):
        assert line in out
    proof = json.loads(output.read_text())
    assert proof["include_fixtures"] is True and proof["counts"]["skipped"] == 4
    # The second run downloaded the first run's proof, and added its own two gate-5 rows only.
    added = EvidenceAttachment.objects.exclude(pk__in=first)
    assert sorted(a.requirement_key for a in added) == ["access-smoke", "operator-seed-run"]
    assert not EvidenceAttachment.objects.filter(gate_key="credential-evidence-proof").exists()


# verify_proof ---------------------------------------------------------------------------------


@pytest.fixture
def signed_proof(live_server, proof_env, tmp_path) -> Path:
    output = tmp_path / "proof.json"
    _out, error = run_command("operator_launch_proof", "--seed", "--url", live_server.url, "--output", str(output))
    assert error is None
    return output


def test_verify_proof_detects_a_tampered_file(signed_proof):
    proof = json.loads(signed_proof.read_text())
    proof["checks"][-1]["status"] = "passed" if proof["checks"][-1]["status"] != "passed" else "failed"
    signed_proof.write_text(json.dumps(proof, indent=2))
    _out, error = run_command("verify_proof", str(signed_proof))
    assert error is not None and "signature mismatch" in str(error)


def test_verify_proof_detects_another_secret(signed_proof, monkeypatch):
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", "another-secret")
    _out, error = run_command("verify_proof", str(signed_proof))
    assert error is not None and "signed with another secret" in str(error)


def test_verify_proof_survives_reformatting(signed_proof):
    proof = json.loads(signed_proof.read_text())
    signed_proof.write_text(json.dumps(proof))  # same content, other whitespace and key order
    _out, error = run_command("verify_proof", str(signed_proof))
    assert error is None


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not json", "is not a JSON proof"), (b'{"passed": true}', "has no signature"), (b"\xff\xfe", "not a JSON")],
)
def test_verify_proof_refuses_a_file_that_is_not_a_proof(tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", SECRET)
    path = tmp_path / "x.json"
    path.write_bytes(content)
    _out, error = run_command("verify_proof", str(path))
    assert error is not None and message in str(error)


def test_verify_proof_needs_the_secret_and_the_file(tmp_path, monkeypatch, settings):
    settings.LAUNCH_OPERATIONS_SECRET = ""
    monkeypatch.delenv("LAUNCH_OPERATIONS_SECRET", raising=False)
    _out, error = run_command("verify_proof", str(tmp_path / "x.json"))
    assert error is not None and "set LAUNCH_OPERATIONS_SECRET" in str(error)
    monkeypatch.setenv("LAUNCH_OPERATIONS_SECRET", SECRET)
    _out, error = run_command("verify_proof", str(tmp_path / "missing.json"))
    assert error is not None and "cannot read" in str(error)
