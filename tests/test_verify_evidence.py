"""verify_evidence: a changed or missing file is reported, fails the run and makes its gate stale."""

from __future__ import annotations

import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from evidence.models import EvidenceAttachment, EvidenceCheck
from launchroom import demo, demo_evidence
from launchroom.models import Tenant
from launchroom.readiness.evaluation import ACCEPTED, STALE, evaluate
from tests import tamper
from tests.tamper import model_table, raw

GATE = "public-deployment"


@pytest.fixture
def tenant(staff):
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    demo.attach_evidence(tenant, staff, GATE)
    demo_evidence.accept_gate(tenant, staff, GATE)
    assert evaluate(tenant).gate(GATE).status == ACCEPTED
    return tenant


def smoke(tenant) -> EvidenceAttachment:
    return EvidenceAttachment.objects.get(tenant=tenant, gate_key=GATE, requirement_key="launch-smoke")


def run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("verify_evidence", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_it_passes_when_every_file_is_intact(tenant):
    out, error = run()
    assert error is None
    count = EvidenceAttachment.objects.count()
    assert out.strip() == f"Checked {count} attachments: 0 failed."
    assert EvidenceCheck.objects.filter(ok=True).count() == count
    assert evaluate(tenant).gate(GATE).status == ACCEPTED


def test_it_detects_a_changed_file_and_the_gate_turns_stale(tenant):
    attachment = smoke(tenant)
    Path(attachment.file.path).write_bytes(b'{"passed": true, "tampered": true}')

    out, error = run()

    assert error is not None and "1 evidence attachment failed" in str(error)
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"MISMATCH #{attachment.pk} acme {GATE}/launch-smoke launch-proof-bundle.json: ")
    assert "hashes to" in lines[0]
    check = EvidenceCheck.objects.get(attachment=attachment)
    assert not check.ok
    gate = evaluate(tenant).gate(GATE)
    assert gate.status == STALE
    assert any("failed its integrity check" in reason for reason in gate.reasons)


def test_it_detects_a_missing_file(tenant):
    attachment = smoke(tenant)
    attachment.file.storage.delete(attachment.file.name)

    out, error = run("--tenant", "acme")

    assert error is not None
    assert f"MISSING  #{attachment.pk} acme {GATE}/launch-smoke" in out
    assert "the stored file is missing" in out
    assert evaluate(tenant).gate(GATE).status == STALE


def test_a_later_passing_check_clears_the_failure(tenant):
    attachment = smoke(tenant)
    path = Path(attachment.file.path)
    original = path.read_bytes()
    path.write_bytes(b"{}")
    assert run()[1] is not None
    path.write_bytes(original)
    assert run()[1] is None
    assert evaluate(tenant).gate(GATE).status == ACCEPTED


def test_it_checks_only_the_named_tenant(tenant, staff):
    other = Tenant.objects.create(slug="rival", name="Rival")
    demo.attach_evidence(other, staff, GATE)
    broken = smoke(other)
    Path(broken.file.path).write_bytes(b"{}")

    out, error = run("--tenant", "acme")
    assert error is None
    assert EvidenceCheck.objects.filter(attachment__tenant=other).count() == 0

    out, error = run()
    assert error is not None
    assert "rival" in out and out.count("MISMATCH") == 1


def test_it_names_an_unknown_tenant(db):
    _out, error = run("--tenant", "nope")
    assert error is not None and "no tenant with slug 'nope'" in str(error)


def test_it_detects_a_file_replaced_together_with_its_hash_column(tenant):
    """The row's own hash is no proof: the file must match the hash recorded when it was attached."""
    attachment = smoke(tenant)
    forged = b'{"passed": true, "forged": true}'
    Path(attachment.file.path).write_bytes(forged)
    raw(
        f"UPDATE {model_table('evidence.EvidenceAttachment')} SET sha256 = %s, size = %s WHERE id = %s",
        [hashlib.sha256(forged).hexdigest(), len(forged), attachment.pk],
    )

    out, error = run()

    assert error is not None and "1 evidence attachment failed" in str(error)
    line = out.strip().splitlines()[0]
    assert line.startswith(f"MISMATCH #{attachment.pk} acme {GATE}/launch-smoke launch-proof-bundle.json: ")
    assert "the recorded hash differs" in line
    assert evaluate(tenant).gate(GATE).status == STALE


def test_it_detects_a_file_re_pointed_to_another_stored_file(tenant):
    attachment = smoke(tenant)
    other = EvidenceAttachment.objects.filter(tenant=tenant).exclude(pk=attachment.pk).exclude(file="").first()
    raw(
        f"UPDATE {model_table('evidence.EvidenceAttachment')} SET file = %s, sha256 = %s, size = %s WHERE id = %s",
        [other.file.name, other.sha256, other.size, attachment.pk],
    )

    out, error = run()

    assert error is not None
    assert f"MISMATCH #{attachment.pk} acme" in out and "the recorded hash differs" in out


def test_it_reports_an_attachment_with_no_creation_record(tenant):
    attachment = smoke(tenant)
    with tamper.lifted():  # the history tables refuse DELETE on PostgreSQL: as their owner could
        EvidenceAttachment.history.filter(id=attachment.pk).delete()

    out, error = run()

    assert error is not None
    assert f"MISMATCH #{attachment.pk}" in out and "no record of being attached" in out
