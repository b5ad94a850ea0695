"""The sweep of uploads left waiting by evidence-replacement confirmations nobody confirmed or
cancelled (evidence/pending.py): old stashes go, fresh ones and every other file stay.

Real storage under a temporary MEDIA_ROOT; a file's age is its modification time, set with
``os.utime``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from evidence import pending
from launchroom.scheduler import jobs
from tests.confirming import token_of
from tests.launch_helpers import stale_proof_plan

DAY = 24 * 60 * 60


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.EVIDENCE_PENDING_MAX_AGE_SECONDS = DAY
    return tmp_path


def age(path: Path, seconds: float) -> None:
    """Make ``path`` last written ``seconds`` ago."""
    when = time.time() - seconds
    os.utime(path, (when, when))


def stash(media: Path, body: bytes = b'{"ok": true}') -> Path:
    stashed = pending.stash(SimpleUploadedFile("proof.json", body, "application/json"))
    return media / stashed.name


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def sweep_command(*args: str) -> str:
    out = io.StringIO()
    call_command("sweep_pending_evidence", *args, stdout=out)
    return out.getvalue()


def test_an_old_stash_is_removed_and_a_fresh_one_kept(db: Any, media: Path) -> None:
    old, fresh = stash(media), stash(media)
    age(old, DAY + 60)
    age(fresh, DAY - 60)

    removed = pending.sweep()

    assert removed == [f"evidence-pending/{old.name}"]
    assert not old.exists()
    assert fresh.exists()
    assert pending.sweep() == []  # a second run finds nothing


def test_files_that_are_not_stashes_are_never_touched(db: Any, media: Path, staff: Any) -> None:
    from evidence.services import evidence_attach
    from launchroom.models import Tenant

    tenant = Tenant.objects.create(slug="acme", name="Acme")
    attachment = evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        file=SimpleUploadedFile("launch-smoke.json", b'{"checks": []}', "application/json"),
    )
    others = [
        media / attachment.file.name,  # evidence itself
        media / "evidence-pending-notes.txt",  # a name that only starts like the folder
        media / "evidence-pending" / "nested" / "kept.json",  # not a stash: stashes are not in folders
        media / "elsewhere" / "evidence-pending" / "old.json",
    ]
    for path in others[1:]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not a stash")
    old = stash(media)
    for path in [*others, old]:
        age(path, 30 * DAY)
    before = files_under(media)

    assert pending.sweep() == [f"evidence-pending/{old.name}"]

    assert files_under(media) == before - {f"evidence-pending/{old.name}"}
    assert all(path.exists() for path in others)


def test_an_empty_or_missing_stash_folder_is_nothing_to_sweep(db: Any, media: Path) -> None:
    assert pending.sweep() == []
    (media / "evidence-pending").mkdir()
    assert pending.sweep() == []


def test_a_stash_on_an_open_confirmation_page_is_kept_and_still_confirms(client: Any, staff: Any, media: Path) -> None:
    from django.utils import timezone

    from evidence.models import EvidenceAttachment

    tenant = stale_proof_plan(staff)
    url = "/admin/evidence/evidenceattachment/add/"
    now = timezone.localtime()
    data = {
        "tenant": tenant.pk,
        "requirement": "strict-proof-plan/production-proof-smoke",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    client.force_login(staff["operator"])
    body = b'{"checks": [{"name": "production-proof", "ok": true}]}'
    first = client.post(url, {**data, "file": SimpleUploadedFile("smoke.json", body, "application/json")})
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    [waiting] = [media / name for name in files_under(media)]
    age(waiting, pending.MAX_AGE - 60)  # its token has a minute left: the page is still open

    assert pending.sweep() == []
    assert pending.sweep(max_age=pending.MAX_AGE) == []  # the shortest maximum age there is
    assert waiting.exists()

    field, token = first.context["replay"][-1]
    second = client.post(url, {**data, field: token, **token_of(first), "confirm": "Save anyway"})
    assert second.status_code == 302
    assert EvidenceAttachment.objects.latest("id").size == len(body)
    assert not waiting.exists()


def test_the_sweep_never_goes_below_a_tokens_lifetime(db: Any, media: Path) -> None:
    with pytest.raises(ValueError, match="at least 3600 seconds"):
        pending.sweep(max_age=pending.MAX_AGE - 1)


def settings_value(value: str) -> subprocess.CompletedProcess[str]:
    """thesmios/settings.py read with EVIDENCE_PENDING_MAX_AGE_SECONDS=value, in a fresh process."""
    env = {**os.environ, "DEBUG": "1", "EVIDENCE_PENDING_MAX_AGE_SECONDS": value}
    code = "import thesmios.settings as s; print(s.EVIDENCE_PENDING_MAX_AGE_SECONDS)"
    root = Path(__file__).resolve().parents[1]
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_setting_is_read_from_the_environment_and_refused_below_an_hour() -> None:
    assert settings_value("7200").stdout.strip() == "7200"
    refused = settings_value("600")
    assert refused.returncode != 0
    assert "EVIDENCE_PENDING_MAX_AGE_SECONDS must be at least 3600" in refused.stderr
    assert "must be a positive integer, got 'a day'" in settings_value("a day").stderr


def test_the_scheduler_runs_the_sweep_hourly() -> None:
    [job] = [job for job in jobs() if job.name == "sweep_pending_evidence"]
    assert job.every_seconds == 60 * 60


def test_the_task_sweeps(db: Any, media: Path) -> None:
    from evidence.tasks import sweep_pending_evidence

    old = stash(media)
    age(old, DAY + 60)

    result = sweep_pending_evidence.enqueue()  # the tests' immediate backend runs it now

    assert result.return_value == [f"evidence-pending/{old.name}"]
    assert not old.exists()


def test_the_command_deletes_and_reports(db: Any, media: Path) -> None:
    old, fresh = stash(media), stash(media)
    age(old, 2 * 60 * 60)

    out = sweep_command("--max-age", "3600")

    assert f"deleted evidence-pending/{old.name}" in out
    assert "Deleted 1 waiting upload older than 3600 seconds." in out
    assert not old.exists() and fresh.exists()


def test_the_commands_dry_run_removes_nothing(db: Any, media: Path) -> None:
    old = stash(media)
    age(old, DAY + 60)

    out = sweep_command("--dry-run")

    assert f"would delete evidence-pending/{old.name}" in out
    assert f"Would delete 1 waiting upload older than {DAY} seconds." in out
    assert old.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-age", "a day"], "--max-age must be a whole number of seconds, got 'a day'"),
        (["--max-age", "1.5"], "--max-age must be a whole number of seconds, got '1.5'"),
        (["--max-age", "-5"], "--max-age must be at least 3600 seconds"),
        (["--max-age", "0"], "--max-age must be at least 3600 seconds"),
        (["--max-age", "600"], "--max-age must be at least 3600 seconds"),
        (["--max-age"], "expected one argument"),
        (["--older-than", "3600"], "unrecognized arguments: --older-than"),
        (["evidence-pending/x"], "unrecognized arguments: evidence-pending/x"),
    ],
)
def test_the_command_refuses_bad_input(db: Any, media: Path, args: list[str], message: str) -> None:
    old = stash(media)
    age(old, 30 * DAY)

    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        sweep_command(*args)

    assert old.exists()


def test_bad_input_given_as_an_option_is_refused_too(db: Any, media: Path) -> None:
    with pytest.raises(CommandError, match="whole number of seconds"):
        call_command("sweep_pending_evidence", max_age="soon", stdout=io.StringIO())
