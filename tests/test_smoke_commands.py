"""The public proof commands against Django's live test server, over real HTTP.

``requests`` is not mocked: each test runs the command against ``live_server`` (or a dead
port) and reads what it printed, raised and wrote.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.http import HttpResponse
from django.urls import include, path

from core.hashing import canonical_json
from evidence.models import EvidenceAttachment
from launchroom import catalog
from launchroom.models import Tenant
from launchroom.public import views as public
from launchroom.readiness.evaluation import MET, evaluate

LIVE = pytest.mark.django_db(transaction=True)
DEAD_URL = "http://127.0.0.1:9"


def run(command: str, **options) -> tuple[str, Exception | None]:
    out = io.StringIO()
    try:
        call_command(command, stdout=out, **options)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def check_lines(output: str) -> dict[str, str]:
    lines = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASSED", "FAILED", "SKIPPED"):
            lines[rest.strip().split(":", 1)[0]] = status
    return lines


def verify_sha256(report: dict) -> bool:
    body = {k: v for k, v in report.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest() == report["sha256"]


# An incomplete deployment: the managed-beta page lacks gate 4's "if missing" text.
def incomplete_managed_beta(request):
    page = public.managed_beta(request).content.decode()
    return HttpResponse(page.replace(catalog.gate("billing-route").if_missing, "Ask finance."))


urlpatterns = [path("managed-beta", incomplete_managed_beta), path("", include("thesmios.urls"))]


@LIVE
def test_managed_beta_check_passes_against_the_live_portal(live_server, tmp_path):
    report_path = tmp_path / "managed-beta.json"

    output, error = run("check_managed_beta_readiness", url=live_server.url, output=str(report_path))

    assert error is None, output
    lines = check_lines(output)
    assert lines == {
        "managed-beta page answers": "PASSED",
        "managed-beta page has every gate": "PASSED",
        "managed-beta page has the counts, commands and boundary": "PASSED",
        "managed-beta JSON answers": "PASSED",
        "managed-beta JSON has every gate": "PASSED",
        "managed-beta JSON has the counts": "PASSED",
        "managed-beta JSON has the commands": "PASSED",
        "managed-beta JSON has the boundary": "PASSED",
    }
    report = json.loads(report_path.read_text())
    assert report["passed"] is True
    assert report["command"] == "check_managed_beta_readiness"
    assert report["url"] == live_server.url + "/"
    assert report["counts"] == {"passed": 8, "failed": 0, "skipped": 0}
    assert verify_sha256(report)


@LIVE
def test_launch_proof_bundle_passes_and_skips_https_checks_over_http(live_server, tmp_path):
    bundle_path = tmp_path / "bundle.json"

    output, error = run("launch_proof_bundle", url=live_server.url, output=str(bundle_path))

    assert error is None, output
    lines = check_lines(output)
    assert lines["HSTS is at least a year"] == "SKIPPED"
    assert lines["cookies are Secure"] == "SKIPPED"
    assert {name for name, status in lines.items() if status != "PASSED"} == {
        "HSTS is at least a year",
        "cookies are Secure",
    }
    for name in (
        "home page answers",
        "health check answers",
        "platform API refuses an anonymous caller",
        "managed-beta JSON has every gate",
        "production-proof JSON has every proof group",
        "security-assurance pack answers and is complete",
        "procurement-evidence pack answers and is complete",
        "operations-evidence pack answers and is complete",
        "anonymous launch room redirects to login",
        "admin requires login",
        "evidence download without login answers 404",
        "Content-Security-Policy forbids inline code",
        "X-Content-Type-Options is nosniff",
        "framing is forbidden",
    ):
        assert lines[name] == "PASSED", name
    bundle = json.loads(bundle_path.read_text())
    assert bundle["passed"] is True
    assert bundle["kind"] == "launch_proof_bundle"
    assert bundle["portal_version"] == django_settings.PORTAL_VERSION
    assert bundle["started_at"] <= bundle["finished_at"]
    assert bundle["counts"]["skipped"] == 2
    assert [g["key"] for g in bundle["production_proof"]["groups"]] == [g.key for g in catalog.GATES]
    assert verify_sha256(bundle)


@LIVE
def test_it_fails_every_check_against_a_path_that_is_not_the_portal(live_server, tmp_path):
    report_path = tmp_path / "report.json"

    output, error = run("launch_proof_bundle", url=live_server.url + "/not-the-portal/", output=str(report_path))

    assert isinstance(error, CommandError)
    assert "checks failed" in str(error)
    assert "FAILED  home page answers" in output
    assert "answered 404, expected 200" in output
    report = json.loads(report_path.read_text())
    assert report["passed"] is False
    assert report["counts"]["failed"] > 0


@LIVE
def test_it_names_what_an_incomplete_page_lacks(live_server, settings, tmp_path):
    settings.ROOT_URLCONF = __name__

    output, error = run("check_managed_beta_readiness", url=live_server.url, output=str(tmp_path / "r.json"))

    assert isinstance(error, CommandError)
    assert str(error) == "1 of 8 checks failed"
    lines = check_lines(output)
    assert lines["managed-beta page has every gate"] == "FAILED"
    assert lines["managed-beta JSON has every gate"] == "PASSED"
    assert "the page lacks: 'Run a no-charge private beta only" in output


@pytest.mark.parametrize("command", ["check_managed_beta_readiness", "launch_proof_bundle"])
def test_a_dead_url_gives_one_line_and_exit_1(db, command, tmp_path):
    _, error = run(command, url=DEAD_URL, output=str(tmp_path / "r.json"))

    assert isinstance(error, CommandError)
    assert str(error).startswith(f"cannot reach {DEAD_URL}/")
    assert "\n" not in str(error)
    assert not (tmp_path / "r.json").exists()


def test_a_dead_url_exits_1_without_a_traceback_from_manage_py(tmp_path):
    env = {**os.environ, "THESMIOS_SMOKE_URL": DEAD_URL, "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    manage = Path(django_settings.BASE_DIR) / "manage.py"

    result = subprocess.run(
        [sys.executable, str(manage), "launch_proof_bundle"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("CommandError: cannot reach http://127.0.0.1:9/")


@pytest.mark.parametrize("url", ["", "ftp://portal.example", "portal.example"])
def test_it_refuses_a_missing_or_wrong_url(db, settings, url):
    settings.THESMIOS_SMOKE_URL = ""

    _, error = run("check_managed_beta_readiness", url=url or None)

    assert isinstance(error, CommandError)
    assert "\n" not in str(error)


@LIVE
def test_it_reads_the_url_from_thesmios_smoke_url(live_server, settings):
    settings.THESMIOS_SMOKE_URL = live_server.url

    output, error = run("check_managed_beta_readiness")

    assert error is None, output
    assert f"Checking {live_server.url}/" in output


@LIVE
def test_launch_proof_bundle_attaches_the_bundle_to_gates_1_and_2(live_server, tmp_path):
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    bundle_path = tmp_path / "bundle.json"

    output, error = run("launch_proof_bundle", url=live_server.url, output=str(bundle_path), attach="acme")

    assert error is None, output
    attachments = EvidenceAttachment.objects.filter(tenant=tenant).order_by("gate_key", "requirement_key")
    assert [(a.gate_key, a.requirement_key) for a in attachments] == [
        ("public-deployment", "api-smoke"),
        ("public-deployment", "launch-smoke"),
        ("strict-proof-plan", "production-proof-json"),
        ("strict-proof-plan", "production-proof-smoke"),
    ]
    digest = hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    for attachment in attachments:
        assert attachment.produced_by_command == "launch_proof_bundle"
        assert attachment.uploaded_by is None
        assert attachment.sha256 == digest
        with attachment.file.open("rb") as fh:
            assert fh.read() == bundle_path.read_bytes()
    assert "Attached to acme:" in output
    readiness = evaluate(tenant)
    states = {r.requirement.key: r.state for g in readiness.gates[:2] for r in g.requirements}
    assert states["launch-smoke"] == states["api-smoke"] == MET
    assert states["production-proof-json"] == states["production-proof-smoke"] == MET


@LIVE
def test_managed_beta_check_attaches_the_readiness_advisory(live_server):
    tenant = Tenant.objects.create(slug="acme", name="Acme")

    output, error = run("check_managed_beta_readiness", url=live_server.url, attach="acme")

    assert error is None, output
    attachment = EvidenceAttachment.objects.get(tenant=tenant)
    assert (attachment.gate_key, attachment.requirement_key) == ("public-deployment", "readiness-advisory")
    assert attachment.produced_by_command == "check_managed_beta_readiness"
    with attachment.file.open("rb") as fh:
        assert json.load(fh)["passed"] is True


@LIVE
def test_it_attaches_nothing_when_a_check_fails(live_server):
    Tenant.objects.create(slug="acme", name="Acme")

    _, error = run("launch_proof_bundle", url=live_server.url + "/not-the-portal/", attach="acme")

    assert str(error).endswith("checks failed: nothing attached")
    assert not EvidenceAttachment.objects.exists()


def test_it_refuses_an_unknown_tenant_before_checking(db):
    _, error = run("launch_proof_bundle", url=DEAD_URL, attach="nobody")

    assert str(error) == "no tenant 'nobody' to attach the output to"
