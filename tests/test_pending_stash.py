"""Replacing evidence with an upload: the upload is written to the media store once, as the
stash under ``evidence-pending/``, and the impact preview and the save read it from there
(evidence/pending.py). Real storage under a temporary MEDIA_ROOT, uploads on disk as every
large proof is."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from evidence.models import EvidenceAttachment
from tests.confirming import token_of
from tests.launch_helpers import stale_proof_plan

URL = "/admin/evidence/evidenceattachment/add/"
BODY = b'{"checks": [{"name": "production-proof", "ok": true}]}' + b" " * 8192


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload streams to a temporary file
    return tmp_path


@pytest.fixture
def operator(client: Any, staff: Any) -> Any:
    client.force_login(staff["operator"])
    return client


def form(tenant: Any, requirement: str) -> dict[str, Any]:
    from django.utils import timezone

    now = timezone.localtime()
    return {
        "tenant": tenant.pk,
        "requirement": f"strict-proof-plan/{requirement}",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }


def upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("smoke.json", BODY, "application/json")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_the_confirmed_save_moves_the_stash_into_place(operator: Any, staff: Any, media: Path) -> None:
    tenant = stale_proof_plan(staff)
    data = form(tenant, "production-proof-smoke")
    count = EvidenceAttachment.objects.count()

    first = operator.post(URL, {**data, "file": upload()})

    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    assert EvidenceAttachment.objects.count() == count
    [stashed] = files_under(media)  # the stash alone: the preview left nothing, not even its link
    assert stashed.parent.name == "evidence-pending"
    inode = stashed.stat().st_ino

    field, token = first.context["replay"][-1]
    second = operator.post(URL, {**data, field: token, **token_of(first), "confirm": "Save anyway"})

    assert second.status_code == 302
    attachment = EvidenceAttachment.objects.latest("id")
    assert (attachment.sha256, attachment.size) == (hashlib.sha256(BODY).hexdigest(), len(BODY))
    assert files_under(media) == [media / attachment.file.name]
    assert (media / attachment.file.name).stat().st_ino == inode  # moved, not copied
    assert (media / attachment.file.name).read_bytes() == BODY


def test_a_replacement_that_moves_nothing_saves_from_the_stash_at_once(operator: Any, staff: Any, media: Path) -> None:
    tenant = stale_proof_plan(staff)
    count = EvidenceAttachment.objects.count()

    response = operator.post(URL, {**form(tenant, "production-proof-json"), "file": upload()})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert EvidenceAttachment.objects.count() == count + 1
    attachment = EvidenceAttachment.objects.latest("id")
    assert (attachment.sha256, attachment.size) == (hashlib.sha256(BODY).hexdigest(), len(BODY))
    assert files_under(media) == [media / attachment.file.name]  # no stash, no preview copy
    assert (media / attachment.file.name).read_bytes() == BODY


def test_cancel_changes_nothing(operator: Any, staff: Any, media: Path) -> None:
    tenant = stale_proof_plan(staff)
    count = EvidenceAttachment.objects.count()
    first = operator.post(URL, {**form(tenant, "production-proof-smoke"), "file": upload()})

    cancel = operator.get(first.context["cancel_url"])

    assert cancel.status_code == 200
    assert EvidenceAttachment.objects.count() == count
    # Cancel is a link carrying no token: the stash waits for the sweep (test_pending_sweep).
    assert [p.parent.name for p in files_under(media)] == ["evidence-pending"]


def test_a_store_without_local_paths_copies_the_stash(operator: Any, staff: Any, settings: Any) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    from evidence import pending

    storage = pending._storage()
    tenant = stale_proof_plan(staff)
    data = form(tenant, "production-proof-smoke")

    first = operator.post(URL, {**data, "file": upload()})
    assert first.status_code == 200
    _folders, stashed = storage.listdir("evidence-pending")
    assert len(stashed) == 1

    field, token = first.context["replay"][-1]
    second = operator.post(URL, {**data, field: token, **token_of(first), "confirm": "Save anyway"})

    assert second.status_code == 302
    attachment = EvidenceAttachment.objects.latest("id")
    assert attachment.sha256 == hashlib.sha256(BODY).hexdigest()
    with storage.open(attachment.file.name, "rb") as saved:
        assert saved.read() == BODY
    assert storage.listdir("evidence-pending") == ([], [])


def attachment_inserts(queries: list[dict[str, Any]]) -> int:
    table = EvidenceAttachment._meta.db_table
    return sum(1 for q in queries if q["sql"].lstrip().upper().startswith(f'INSERT INTO "{table.upper()}"'))


def test_a_replacement_that_moves_nothing_runs_the_service_once(operator: Any, staff: Any, media: Path) -> None:
    """Kept from its one run: no rolled-back preview first (the 25 MiB upload's budget)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tenant = stale_proof_plan(staff)

    with CaptureQueriesContext(connection) as ctx:
        response = operator.post(URL, {**form(tenant, "production-proof-json"), "file": upload()})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert attachment_inserts(ctx.captured_queries) == 1
    attachment = EvidenceAttachment.objects.latest("id")
    assert attachment.history.filter(history_type="+").count() == 1
    assert files_under(media) == [media / attachment.file.name]


def test_a_replacement_that_moves_readiness_keeps_nothing_of_its_run(operator: Any, staff: Any, media: Path) -> None:
    """Run for real and rolled back: the stored row, transitions, notifications and e-mail stay as they were."""
    from launchroom.models import Notification, OutboundEmail, ReadinessTransition, TenantReadiness

    tenant = stale_proof_plan(staff)
    row = TenantReadiness.objects.get(tenant=tenant)
    counts = [m.objects.count() for m in (EvidenceAttachment, ReadinessTransition, Notification, OutboundEmail)]
    history = EvidenceAttachment.history.count()

    first = operator.post(URL, {**form(tenant, "production-proof-smoke"), "file": upload()})

    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    assert "goes from Stale to Ready for review" in first.content.decode()
    assert [m.objects.count() for m in (EvidenceAttachment, ReadinessTransition, Notification, OutboundEmail)] == counts
    assert EvidenceAttachment.history.count() == history
    after = TenantReadiness.objects.get(tenant=tenant)
    assert (after.room_version, after.computed_at, after.gates) == (row.room_version, row.computed_at, row.gates)
    assert [p.parent.name for p in files_under(media)] == ["evidence-pending"]  # the stash alone
