"""PATCH and GET /api/platform/launch-acceptance: every answer, and the order of the errors."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom.models import AcceptanceRecord, ApiToken, DecisionLogEntry, MembershipRole
from launchroom.readiness.evaluation import evaluate
from tests.factories import EvidenceAttachmentFactory, draft_tenant, ready_tenant
from tests.launch_helpers import api_body, buyer, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def northwind(db):
    """A draft order form and one piece of evidence: hold."""
    tenant = draft_tenant("northwind")
    EvidenceAttachmentFactory(tenant=tenant)
    return tenant


@pytest.fixture
def contoso(db):
    """Every gate met for paid beta but the buyer's acceptance."""
    return ready_tenant("contoso")


@pytest.fixture
def globex(db):
    """Signed for paid beta and moved into it."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


URL = "/api/platform/launch-acceptance"


def patch(client: Client, body, *, content_type: str = "application/json", **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.patch(URL, data, content_type=content_type, **extra)


def token_for(user) -> str:
    key = ApiToken.generate_key()
    ApiToken.objects.create(user=user, name="automation", prefix=key[:12], key_sha256=ApiToken.hash_key(key))
    return key


def saved() -> tuple[int, int, int]:
    return AcceptanceRecord.objects.count(), DecisionLogEntry.objects.count(), AcceptanceRecord.history.count()


def test_it_answers_anonymous_requests_with_401(client, contoso):
    tenant = contoso
    response = patch(client, api_body(tenant))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, {"tenant": tenant.slug}).status_code == 401
    strict = Client(enforce_csrf_checks=True)
    assert patch(strict, api_body(tenant)).status_code in (401, 403)
    assert patch(client, api_body(tenant), HTTP_AUTHORIZATION="Bearer thes_not-a-real-token").status_code == 401
    assert saved() == (0, DecisionLogEntry.objects.count(), 0)


def test_it_answers_404_alike_for_a_missing_tenant_and_a_foreign_one(client, contoso, northwind):
    northwind = northwind
    client.force_login(buyer("contoso"))
    before = saved()
    missing = patch(client, {**api_body(northwind), "tenant": "no-such-tenant"})
    foreign = patch(client, api_body(northwind))
    assert missing.status_code == foreign.status_code == 404
    assert missing.json() == foreign.json()
    assert "Northwind" not in foreign.content.decode()
    assert saved() == before


def test_it_checks_membership_before_the_fields(client, contoso, northwind):
    northwind = northwind
    client.force_login(buyer("contoso"))
    response = patch(client, {"tenant": northwind.slug, "decision": "maybe", "exclusions": "nope"})
    assert response.status_code == 404


def test_it_answers_403_to_members_who_are_not_the_buyer_sponsor_before_the_fields(client, contoso):
    tenant = contoso
    before = saved()
    for role in (MembershipRole.VIEWER, MembershipRole.BUYER_FINANCE):
        client.force_login(member(tenant, f"{role}-contoso", role))
        response = patch(client, {"tenant": tenant.slug, "decision": "maybe"})
        assert response.status_code == 403
        assert response.json()["reasons"] == ["Only the tenant's buyer sponsor signs the acceptance record."]
    assert saved() == before


def test_it_answers_403_to_staff_without_written_approval_or_without_the_permission(client, staff, contoso):
    tenant = contoso
    client.force_login(staff["operator"])
    response = patch(client, api_body(tenant))
    assert response.status_code == 403
    assert "written approval" in response.json()["reasons"][0]
    client.force_login(staff["finance"])
    response = patch(client, api_body(tenant, on_written_approval=True, signer_email="buyer@contoso.example"))
    assert response.status_code == 403
    client.force_login(buyer("contoso"))
    response = patch(client, api_body(tenant, on_written_approval=True, signer_email="buyer@contoso.example"))
    assert response.status_code == 403
    assert not AcceptanceRecord.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "field"),
    [
        ("{not json", "application/json", "__all__"),
        ('["a", "list"]', "application/json", "__all__"),
        ("tenant=contoso", "application/x-www-form-urlencoded", "__all__"),
        ({"stage": "paid_beta"}, "application/json", "tenant"),
    ],
)
def test_it_answers_400_to_broken_bodies(client, body, content_type, field, contoso):
    client.force_login(buyer("contoso"))
    before = saved()
    response = patch(client, body, content_type=content_type)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert saved() == before


def test_it_answers_400_with_every_field_error_before_any_rule(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    body = {
        "tenant": tenant.slug,
        "stage": "live",
        "decision": "maybe",
        "signer_name": "",
        "exclusions": "not a list",
        "residual_risks": [1, 2],
        "note": 5,
        "id": 1,
        "evidence_references": ["x"],
    }
    response = patch(client, body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {
        "stage",
        "decision",
        "signer_name",
        "signer_role",
        "exclusions",
        "residual_risks",
        "note",
        "id",
        "evidence_references",
    }
    assert not AcceptanceRecord.objects.exists()


def test_it_answers_400_for_evidence_of_another_tenant(client, contoso, northwind):
    tenant = contoso
    other = northwind
    foreign = EvidenceAttachment.objects.filter(tenant=other).first()
    client.force_login(buyer("contoso"))
    response = patch(client, api_body(tenant, evidence_references=[foreign.pk]))
    assert response.status_code == 400
    assert response.json()["errors"]["evidence_references"] == [
        f"No evidence {foreign.pk} in this tenant's launch room."
    ]


def test_it_answers_400_when_a_deferral_gives_no_reason(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    response = patch(client, api_body(tenant, "deferred", residual_risks=[]))
    assert response.status_code == 400
    assert "note" in response.json()["errors"]


def test_it_answers_409_with_the_reasons_and_saves_nothing(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    before = saved()
    response = patch(client, api_body(tenant, "accepted"))
    assert response.status_code == 409
    reasons = response.json()["reasons"]
    assert "There is no signed order form: the commercial owner records it first." in reasons
    assert any(r.startswith("Gate 2 (Strict proof plan is published)") for r in reasons)
    assert saved() == before


def test_it_answers_409_for_a_missing_do_not_claim_entry_and_a_wrong_reference(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    claims = evaluate(tenant).do_not_claim
    response = patch(client, api_body(tenant, exclusions=claims[:-1], approval_reference="PO-WRONG"))
    assert response.status_code == 409
    reasons = response.json()["reasons"]
    assert f'The exclusions must list "{claims[-1]}".' in reasons
    assert any("PO-WRONG" in r for r in reasons)
    assert not AcceptanceRecord.objects.exists()


def test_it_answers_409_for_evidence_that_was_replaced(client, staff, contoso):
    tenant = contoso
    old = evaluate(tenant).gate("public-deployment").requirements[1].attachment
    evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        output="fresh launch smoke",
        produced_by_command="launch_proof_bundle",
    )
    client.force_login(buyer("contoso"))
    response = patch(client, api_body(tenant, evidence_references=[{"id": old.pk, "sha256": old.sha256}]))
    assert response.status_code == 409
    assert "was replaced" in response.json()["reasons"][0]


def test_it_records_201_then_200_for_a_repeat_then_supersedes(client, contoso):
    tenant = contoso
    user = buyer("contoso")
    client.force_login(user)
    refs = evaluate(tenant).evidence_references()
    body = api_body(tenant, evidence_references=refs, note="Signed through our procurement tool.")
    response = patch(client, body, HTTP_USER_AGENT="procurement-bot/1.0", REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 201
    data = response.json()
    record = AcceptanceRecord.objects.get()
    assert data["id"] == record.pk
    assert response["Location"] == f"/launch-room/contoso/acceptance/{record.pk}.json"
    assert data["status"] == "current"
    assert data["superseded_by"] is None
    assert data["snapshot_sha256"] == record.snapshot_sha256 == evaluate(tenant).acceptance_snapshot_sha256()
    assert data["exclusions"] == evaluate(tenant).do_not_claim
    assert data["signed_at"].endswith("Z")
    assert data["approval_reference"] == tenant.order_forms.get().approval_reference
    assert data["signer_email"] == user.email
    assert data["on_written_approval"] is False
    assert record.client_address == "192.0.2.10"
    assert record.user_agent == "procurement-bot/1.0"
    assert record.signer == user

    again = patch(client, body)
    assert again.status_code == 200
    assert again.json()["id"] == record.pk
    assert AcceptanceRecord.objects.count() == 1

    changed = patch(client, api_body(tenant, "accepted_with_exclusions"))
    assert changed.status_code == 201
    newer = changed.json()
    assert newer["supersedes"] == record.pk

    listing = client.get(URL, {"tenant": tenant.slug})
    assert listing.status_code == 200
    records = listing.json()["records"]
    assert [r["id"] for r in records] == [newer["id"], record.pk]
    assert [r["status"] for r in records] == ["current", "superseded"]
    assert [r["superseded_by"] for r in records] == [None, newer["id"]]


def test_it_accepts_a_bearer_token_without_csrf(contoso):
    tenant = contoso
    key = token_for(buyer("contoso"))
    client = Client(enforce_csrf_checks=True)
    response = patch(client, api_body(tenant), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201
    listing = client.get(URL, {"tenant": tenant.slug}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert listing.status_code == 200
    assert listing.json()["count"] == 1


def test_it_refuses_a_revoked_token(contoso):
    from django.utils import timezone

    tenant = contoso
    key = token_for(buyer("contoso"))
    token = ApiToken.objects.get()
    token.revoked_at = timezone.now()
    token.save()
    response = patch(Client(), api_body(tenant), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    assert not AcceptanceRecord.objects.exists()


def test_it_enforces_csrf_on_session_requests(contoso):
    tenant = contoso
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer("contoso"))
    refused = patch(client, api_body(tenant))
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    assert not AcceptanceRecord.objects.exists()
    assert client.get(URL, {"tenant": tenant.slug}).status_code == 200  # a read needs no token
    client.get("/launch-room/contoso/")
    token = client.cookies["csrftoken"].value
    wrong = patch(client, api_body(tenant), HTTP_X_CSRFTOKEN="x" * len(token))
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "csrf_failed"
    assert not AcceptanceRecord.objects.exists()
    assert patch(client, api_body(tenant), HTTP_X_CSRFTOKEN=token).status_code == 201


def test_it_refuses_a_session_request_from_a_foreign_origin_over_https(staff, contoso):
    tenant = contoso
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer("contoso"))
    client.get("/launch-room/contoso/")
    token = client.cookies["csrftoken"].value
    response = patch(client, api_body(tenant), HTTP_X_CSRFTOKEN=token, HTTP_ORIGIN="https://evil.example", secure=True)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert not AcceptanceRecord.objects.exists()


def test_it_lets_staff_record_a_buyers_written_approval_by_token(staff, contoso):
    tenant = contoso
    key = token_for(staff["commercial"])
    client = Client()
    body = api_body(
        tenant,
        signer_name="Carlos Conti",
        on_written_approval=True,
        signer_email="carlos.conti@contoso.example",
        note="Approval by e-mail of 3 March, filed as CRM-1182.",
    )
    missing_email = patch(client, {**body, "signer_email": ""}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert missing_email.status_code == 400
    assert "signer_email" in missing_email.json()["errors"]

    response = patch(client, body, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201
    data = response.json()
    assert data["on_written_approval"] is True
    assert data["recorded_by"] == "commercial"
    assert data["signer_email"] == "carlos.conti@contoso.example"
    record = AcceptanceRecord.objects.get()
    assert record.signer is None
    assert record.recorded_by == staff["commercial"]
    assert record.on_written_approval


def test_it_lists_records_only_for_members(client, globex, contoso):
    tenant = globex
    client.force_login(buyer("contoso"))
    assert client.get(URL, {"tenant": tenant.slug}).status_code == 404
    assert client.get(URL).status_code == 400
    client.force_login(buyer("globex"))
    assert client.get(URL, {"tenant": tenant.slug, "stage": "live"}).status_code == 400
    data = client.get(URL, {"tenant": tenant.slug, "stage": "paid_beta"}).json()
    assert data["count"] == 1
    assert data["records"][0]["decision"] == "accepted"


def test_it_keeps_the_list_at_its_pinned_query_count(client, contoso):
    from tests.query_counts import assert_pinned_queries

    tenant = contoso
    client.force_login(buyer("contoso"))
    for decision in ("accepted", "accepted_with_exclusions", "accepted"):
        assert patch(client, api_body(tenant, decision)).status_code == 201
    # Session, user, membership, records (with signer and order form).
    with assert_pinned_queries("api acceptance list: buyer"):
        response = client.get(URL, {"tenant": tenant.slug})
    assert response.json()["count"] == 3


def test_it_answers_405_to_other_methods(client, contoso):
    client.force_login(buyer("contoso"))
    response = client.post(URL, {}, content_type="application/json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, PATCH"


def test_it_never_edits_a_record_through_the_api(client, globex):
    tenant = globex
    record = AcceptanceRecord.objects.get()
    client.force_login(buyer("globex"))
    response = patch(client, {**api_body(tenant, "rejected", note="x"), "id": record.pk})
    assert response.status_code == 400
    assert "id" in response.json()["errors"]
    record.refresh_from_db()
    assert record.decision == "accepted"
    assert AcceptanceRecord.objects.count() == 1
