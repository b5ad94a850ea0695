"""The evidence admin: attach through evidence_attach, never edit, verify integrity, cheap lists."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.admin import attach_url
from evidence.models import EvidenceAttachment, EvidenceCheck
from evidence.services import evidence_attach
from launchroom.catalog import Role
from launchroom.models import Tenant

ADD = "admin:evidence_evidenceattachment_add"
LIST = "admin:evidence_evidenceattachment_changelist"


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(slug="acme", name="Acme")


def add_form(tenant, requirement="public-deployment/launch-smoke", **extra):
    now = "2026-01-15"
    return {
        "tenant": tenant.pk,
        "requirement": requirement,
        "captured_at_0": now,
        "captured_at_1": "10:00:00",
        "note": "",
        "url": "",
        "output": "",
        **extra,
    }


def form_errors(response) -> str:
    form = response.context["adminform"].form
    return " ".join(message for messages in form.errors.values() for message in messages)


def test_it_prefills_the_add_form_from_the_tenant_pages_link(client, staff, tenant):
    client.force_login(staff["operator"])
    url = attach_url(tenant.pk, "tenant-access-proof", "access-smoke")
    assert url == reverse(ADD) + f"?tenant={tenant.pk}&requirement=tenant-access-proof%2Faccess-smoke"
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert str(form.initial["tenant"]) == str(tenant.pk)
    assert form.initial["requirement"] == "tenant-access-proof/access-smoke"
    html = response.content.decode()
    assert '<option value="tenant-access-proof/access-smoke" selected>' in html
    # Record requirements are not offered: they are met by their records.
    assert "support-fallback/support-owner" not in html


def test_it_attaches_an_uploaded_file_through_the_service(client, staff, tenant):
    client.force_login(staff["security"])
    content = b'{"command": "launch_proof_bundle", "passed": true}'
    response = client.post(reverse(ADD), add_form(tenant, file=SimpleUploadedFile("bundle.json", content)))
    assert response.status_code == 302, response.context["adminform"].form.errors
    attachment = EvidenceAttachment.objects.get()
    assert (attachment.gate_key, attachment.requirement_key) == ("public-deployment", "launch-smoke")
    assert attachment.uploaded_by == staff["security"]
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert attachment.original_name == "bundle.json"
    assert attachment.history.count() == 1


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"file": SimpleUploadedFile("page.html", b"<html></html>")}, ".html files are not accepted"),
        ({"file": SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n<script>")}, "contains HTML (<script"),
        ({"file": SimpleUploadedFile("empty.txt", b"")}, "The submitted file is empty"),
        ({"url": "http://portal.example.com"}, "Only https:// URLs"),
        ({"url": "https://portal.example.com", "output": "PASSED"}, "exactly one of a file, a URL or pasted output"),
        ({}, "exactly one of a file, a URL or pasted output"),
    ],
)
def test_it_shows_a_refusal_on_the_form_and_stores_nothing(client, staff, tenant, extra, error):
    client.force_login(staff["operator"])
    response = client.post(reverse(ADD), add_form(tenant, **extra))
    assert response.status_code == 200
    assert error in form_errors(response)
    assert EvidenceAttachment.objects.count() == 0


def test_it_refuses_the_size_limit_on_the_form(client, staff, tenant, settings):
    settings.EVIDENCE_MAX_UPLOAD_BYTES = 10
    client.force_login(staff["operator"])
    response = client.post(reverse(ADD), add_form(tenant, file=SimpleUploadedFile("a.txt", b"x" * 11)))
    assert "larger than the 10 bytes upload limit (EVIDENCE_MAX_UPLOAD_BYTES)" in form_errors(response)
    assert EvidenceAttachment.objects.count() == 0


def test_it_attaches_pasted_output_and_urls(client, staff, tenant):
    client.force_login(staff["operator"])
    response = client.post(reverse(ADD), add_form(tenant, output="PASSED api smoke\n"))
    assert response.status_code == 302
    response = client.post(
        reverse(ADD), add_form(tenant, "public-deployment/deployment-url", url="https://portal.thesmios.example")
    )
    assert response.status_code == 302
    assert EvidenceAttachment.objects.filter(url="https://portal.thesmios.example").exists()
    assert EvidenceAttachment.objects.filter(output="PASSED api smoke").exists()


@pytest.fixture
def attachment(tenant, staff):
    return evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        file=SimpleUploadedFile("smoke.json", b'{"passed": true}'),
    )


def test_an_attachment_can_be_viewed_but_never_changed_or_deleted(client, staff, attachment):
    client.force_login(staff["operator"])  # a superuser, even
    change = reverse("admin:evidence_evidenceattachment_change", args=[attachment.pk])
    response = client.get(change)
    assert response.status_code == 200
    html = response.content.decode()
    assert attachment.sha256 in html
    assert reverse("evidence:download", args=[attachment.pk]) in html
    assert 'name="_save"' not in html
    assert client.post(change, {"note": "edited"}).status_code == 403
    delete = reverse("admin:evidence_evidenceattachment_delete", args=[attachment.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert EvidenceAttachment.objects.get(pk=attachment.pk).note == ""


def test_its_history_can_be_read_but_not_reverted(client, staff, attachment):
    client.force_login(staff["operator"])
    assert client.get(reverse("admin:evidence_evidenceattachment_history", args=[attachment.pk])).status_code == 200
    version = attachment.history.get()
    url = reverse("admin:evidence_evidenceattachment_simple_history", args=[attachment.pk, version.history_id])
    response = client.get(url)
    assert response.status_code == 200
    assert "Revert" not in response.context["title"]
    assert client.post(url, {}).status_code == 403


def test_the_verify_action_reports_counts(client, staff, tenant, attachment):
    broken = evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="api-smoke",
        by=staff["operator"],
        file=SimpleUploadedFile("api.json", b'{"passed": true}'),
    )
    Path(broken.file.path).write_bytes(b'{"passed": false}')
    client.force_login(staff["security"])
    response = client.post(
        reverse(LIST), {"action": "verify_integrity", "_selected_action": [attachment.pk, broken.pk]}, follow=True
    )
    assert "Verified 2 attachment(s): 1 intact, 1 failed their integrity check." in response.content.decode()
    assert EvidenceCheck.objects.filter(ok=False).get().attachment_id == broken.pk
    assert "Integrity failed" in client.get(reverse(LIST)).content.decode()


def test_only_evidence_roles_may_attach(client, staff, tenant):
    client.force_login(staff["finance"])
    assert client.get(reverse(ADD)).status_code == 403
    client.force_login(staff["support"])
    assert client.get(reverse(ADD)).status_code == 200


def test_evidence_checks_are_read_only(client, staff, attachment):
    client.force_login(staff["operator"])
    assert client.get(reverse("admin:evidence_evidencecheck_add")).status_code == 403
    assert client.get(reverse("admin:evidence_evidencecheck_changelist")).status_code == 200


def make_rows(tenant, by, n):
    for i in range(n):
        kwargs = {"output": f"PASSED run {i}\n"} if i % 2 else {"url": f"https://portal.example.com/run/{i}"}
        evidence_attach(tenant=tenant, gate_key="public-deployment", requirement_key="api-smoke", by=by, **kwargs)


@pytest.mark.parametrize("rows", [1, 100])
def test_the_changelist_runs_a_constant_number_of_queries(client, staff, tenant, rows, django_assert_num_queries):
    # A plain staff user, not a superuser, so permission queries are counted too.
    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.groups.add(Group.objects.get(name=Role.SECURITY.value))
    make_rows(tenant, staff["operator"], rows)
    client.force_login(viewer)
    # session, user, user permissions, group permissions, paginator count, the page of rows
    # (tenant, uploader and latest check joined in), the unread notifications in the user links
    with django_assert_num_queries(7):
        response = client.get(reverse(LIST))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rows
