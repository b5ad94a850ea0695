"""Evidence downloads: staff and the tenant's members only, always as an attachment."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.services import evidence_attach
from launchroom import demo
from launchroom.models import MembershipRole, Tenant

CONTENT = b'{"command": "launch_proof_bundle", "passed": true}\n'


@pytest.fixture
def tenant(db):
    return Tenant.objects.create(slug="acme", name="Acme")


@pytest.fixture
def other(db):
    return Tenant.objects.create(slug="rival", name="Rival")


@pytest.fixture
def attachment(tenant, staff):
    return evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        file=SimpleUploadedFile("launch smoke \u2013 run 1.json", CONTENT),
    )


def url_of(attachment) -> str:
    return reverse("evidence:download", args=[attachment.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_download_headers(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_it_serves_staff_the_file_as_an_attachment(client, staff, attachment):
    client.force_login(staff["finance"])  # any staff, not just the evidence roles
    response = client.get(url_of(attachment))
    assert response.status_code == 200
    assert_download_headers(response)
    assert response["Content-Type"] == "application/json"
    assert "filename*=utf-8''launch%20smoke%20%E2%80%93%20run%201.json" in response["Content-Disposition"]
    data = body(response)
    assert data == CONTENT
    assert hashlib.sha256(data).hexdigest() == attachment.sha256


@pytest.mark.parametrize("role", [MembershipRole.BUYER_SPONSOR, MembershipRole.BUYER_FINANCE, MembershipRole.VIEWER])
def test_it_serves_members_of_the_tenant(client, tenant, attachment, role):
    member = demo.ensure_buyer(tenant, f"member-{role}", role=role, password="pw-not-used")
    client.force_login(member)
    response = client.get(url_of(attachment))
    assert response.status_code == 200
    assert_download_headers(response)
    assert body(response) == CONTENT


def test_it_answers_404_to_another_tenants_buyer(client, other, attachment):
    client.force_login(demo.ensure_buyer(other, "buyer-rival", password="pw-not-used"))
    response = client.get(url_of(attachment))
    assert response.status_code == 404
    assert CONTENT not in response.content


def test_it_answers_404_not_a_login_redirect_to_anonymous(client, attachment):
    response = client.get(url_of(attachment))
    assert response.status_code == 404


def test_it_answers_404_for_an_unknown_attachment(client, staff, attachment):
    client.force_login(staff["operator"])
    assert client.get(reverse("evidence:download", args=[attachment.pk + 1000])).status_code == 404


def test_it_answers_404_when_the_file_is_gone_from_storage(client, staff, attachment):
    attachment.file.storage.delete(attachment.file.name)
    client.force_login(staff["operator"])
    assert client.get(url_of(attachment)).status_code == 404


def test_it_refuses_to_change_anything(client, staff, attachment):
    client.force_login(staff["operator"])
    assert client.post(url_of(attachment)).status_code == 405


def test_it_serves_url_and_pasted_output_as_text_files(client, tenant, staff):
    url = evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="deployment-url",
        by=staff["operator"],
        url="https://portal.thesmios.example",
    )
    output = evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="api-smoke",
        by=staff["operator"],
        output="<script>alert(1)</script> PASSED api\n",
    )
    client.force_login(demo.ensure_buyer(tenant, "buyer-acme", password="pw-not-used"))

    response = client.get(url_of(url))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="evidence-{url.pk}-url.txt"'
    assert response.content == b"https://portal.thesmios.example\n"
    assert_download_headers(response)

    response = client.get(url_of(output))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"<script>alert(1)</script> PASSED api\n"
    assert_download_headers(response)


def test_it_downloads_in_a_constant_number_of_queries(client, tenant, attachment, django_assert_num_queries):
    client.force_login(demo.ensure_buyer(tenant, "buyer-acme", password="pw-not-used"))
    # session, user, attachment (among the tenants the user may see)
    with django_assert_num_queries(3):
        response = client.get(url_of(attachment))
    assert response.status_code == 200
    body(response)
