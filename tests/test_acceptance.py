"""Signing the acceptance record in the launch room: docs/RULES.md section 5 on the form."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from launchroom.acceptance.services import AFFIRMATION
from launchroom.models import AcceptanceRecord, DecisionLogEntry
from launchroom.readiness import ledger
from launchroom.readiness.evaluation import evaluate
from tests.factories import countersign, draft_tenant, ready_tenant
from tests.launch_helpers import buyer, sign_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def northwind(db):
    """A draft order form for private beta, nothing else: hold."""
    return draft_tenant("northwind")


@pytest.fixture
def contoso(db):
    """Every gate met for paid beta but the buyer's acceptance."""
    return ready_tenant("contoso")


def sign_url(tenant) -> str:
    return reverse("launchroom:sign", args=[tenant.slug])


def snapshot_of_rows(tenant) -> tuple:
    return (
        list(AcceptanceRecord.objects.filter(tenant=tenant).values()),
        DecisionLogEntry.objects.filter(tenant=tenant).count(),
        AcceptanceRecord.history.count(),
    )


def test_it_refuses_accepting_northwind_on_the_form_and_saves_nothing(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    before = snapshot_of_rows(tenant)
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted"))
    assert response.status_code == 409
    body = response.content.decode()
    assert "This decision cannot be recorded" in body
    assert "There is no signed order form" in body
    assert "Gate 2 (Strict proof plan is published) is missing" in body
    assert snapshot_of_rows(tenant) == before
    # The form keeps what the buyer typed.
    assert 'value="Carlos Conti"' in body


def test_it_refuses_accepted_with_exclusions_while_a_hold_is_in_force(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted_with_exclusions"))
    assert response.status_code == 409
    assert "Gate 5 (Authenticated tenant access proof) is missing" in response.content.decode()
    assert not AcceptanceRecord.objects.exists()


def test_it_refuses_a_record_that_leaves_out_a_do_not_claim_entry_naming_it(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    claims = evaluate(tenant).do_not_claim
    kept = "\n".join(claims[1:])
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted", exclusions=kept))
    assert response.status_code == 409
    assert f"The exclusions must list &quot;{claims[0]}&quot;" in response.content.decode()
    assert not AcceptanceRecord.objects.exists()


def test_it_refuses_a_different_approval_reference(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted", approval_reference="PO-SOMETHING-ELSE"))
    assert response.status_code == 409
    assert "is not the signed order form" in response.content.decode()
    assert not AcceptanceRecord.objects.exists()


def test_it_needs_the_affirmation_and_the_typed_name(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted", affirmation=None, signer_name="  "))
    assert response.status_code == 400
    form = response.context["acceptance_form"]
    assert "affirmation" in form.errors
    assert "signer_name" in form.errors
    assert not AcceptanceRecord.objects.exists()


def test_it_needs_a_reason_to_defer_or_reject(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    for decision in ("deferred", "rejected"):
        response = client.post(sign_url(tenant), sign_form(tenant, decision, residual_risks="", note=""))
        assert response.status_code == 400
        assert "Say why" in response.content.decode()
    assert not AcceptanceRecord.objects.exists()


def test_it_refuses_deferring_without_a_signed_order_form(client, northwind):
    tenant = northwind
    client.force_login(buyer("northwind"))
    response = client.post(sign_url(tenant), sign_form(tenant, "deferred", note="Waiting for procurement."))
    assert response.status_code == 409
    assert "There is no signed order form" in response.content.decode()


def test_it_signs_contoso_and_the_room_reads_go_once_countersigned(client, contoso):
    tenant = contoso
    user = buyer("contoso")
    client.force_login(user)
    readiness = evaluate(tenant)
    response = client.post(
        sign_url(tenant),
        sign_form(tenant, "accepted", approval_reference=""),
        HTTP_USER_AGENT="Mozilla/5.0 (test browser)",
        REMOTE_ADDR="198.51.100.23",
    )
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == reverse("launchroom:certificate", args=[tenant.slug, record.pk]) + "#certificate"
    assert record.decision == "accepted"
    assert record.stage == "paid_beta"
    assert record.signer == user
    assert record.recorded_by == user
    assert record.signer_email == user.email
    assert record.signer_name == "Carlos Conti"
    assert record.signer_role == "Head of compliance operations"
    assert record.approval_reference == tenant.order_forms.get().approval_reference
    assert record.order_form == tenant.order_forms.get()
    assert record.exclusions == readiness.do_not_claim
    assert record.residual_risks == ["Support communication stays manual during the beta"]
    assert record.affirmation == AFFIRMATION
    assert record.client_address == "198.51.100.23"
    assert record.user_agent == "Mozilla/5.0 (test browser)"
    assert record.snapshot_sha256 == readiness.acceptance_snapshot_sha256()
    assert record.evidence_references == readiness.evidence_references()
    assert record.signed_at.utcoffset().total_seconds() == 0
    assert record.supersedes is None
    assert DecisionLogEntry.objects.filter(kind="acceptance_record", object_id=record.pk).exists()
    assert next(ledger.verify([tenant])).broken is None

    # docs/RULES.md 5.9: hold until a Thesmios operator countersigns, then go.
    room = client.get(reverse("launchroom:room", args=[tenant.slug]))
    assert 'data-testid="decision">Hold<' in room.content.decode()
    assert "Your signature is recorded" in room.content.decode()
    countersign(record)
    room = client.get(reverse("launchroom:room", args=[tenant.slug]))
    assert 'data-testid="decision">Go<' in room.content.decode()
    assert evaluate(tenant).is_go


def test_it_asks_to_sign_again_when_the_readiness_changed_while_the_page_was_open(client, staff, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    data = sign_form(tenant, "accepted")
    # The operator reopens gate 1 after the buyer opened the page.
    from launchroom.readiness.services import gate_decide

    gate_decide(
        tenant=tenant, gate_key="public-deployment", decision="reopened", note="Re-checking.", by=staff["operator"]
    )
    response = client.post(sign_url(tenant), data)
    assert response.status_code == 409
    assert "The readiness changed while this page was open" in response.content.decode()
    assert not AcceptanceRecord.objects.exists()
    form = response.context["acceptance_form"]
    assert form["snapshot_sha256"].value() == evaluate(tenant).acceptance_snapshot_sha256()


def test_it_supersedes_the_current_record_and_never_writes_the_old_one(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    client.post(sign_url(tenant), sign_form(tenant, "accepted"))
    first = AcceptanceRecord.objects.get(tenant=tenant)
    first_values = model_to_dict(first)
    first_history = first.history.count()

    response = client.post(
        sign_url(tenant), sign_form(tenant, "accepted_with_exclusions", residual_risks="Manual incident notices")
    )
    assert response.status_code == 302
    second = AcceptanceRecord.objects.exclude(pk=first.pk).get()
    assert second.supersedes == first
    first.refresh_from_db()
    assert model_to_dict(first) == first_values
    assert first.history.count() == first_history
    assert first.superseded_by == second

    room = client.get(reverse("launchroom:room", args=[tenant.slug]))
    items = {item["record"].pk: item["superseded_by"] for item in room.context["acceptances"]}
    assert items == {second.pk: None, first.pk: second}
    assert room.context["current_acceptance"] == second

    # Withdrawing: "superseded" with no successor leaves gate 9 missing.
    response = client.post(sign_url(tenant), sign_form(tenant, "superseded", note="Withdrawn pending review."))
    assert response.status_code == 302
    third = AcceptanceRecord.objects.get(supersedes=second)
    assert evaluate(tenant).gate("customer-acceptance").status == "missing"
    assert not evaluate(tenant).is_go
    # Nothing left to withdraw.
    response = client.post(sign_url(tenant), sign_form(tenant, "superseded", note="Again."))
    assert response.status_code == 409
    assert "no current acceptance record to withdraw" in response.content.decode()
    assert AcceptanceRecord.objects.filter(tenant=tenant).count() == 3
    assert AcceptanceRecord.objects.filter(supersedes=third).count() == 0
    assert next(ledger.verify([tenant])).broken is None


def test_it_enforces_csrf_on_the_signing_form(contoso):
    tenant = contoso
    client = Client(enforce_csrf_checks=True)
    client.force_login(buyer("contoso"))
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted"))
    assert response.status_code == 403
    assert not AcceptanceRecord.objects.exists()
    response = client.post(
        reverse("launchroom:billing_fallback", args=[tenant.slug]), {"name": "Carlos", "confirm": "on"}
    )
    assert response.status_code == 403

    client.get(reverse("launchroom:room", args=[tenant.slug]))
    token = client.cookies["csrftoken"].value
    response = client.post(sign_url(tenant), {**sign_form(tenant, "accepted"), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert AcceptanceRecord.objects.filter(tenant=tenant).count() == 1


def test_it_shows_a_certificate_that_still_matches_and_its_json_twin(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    response = client.post(sign_url(tenant), sign_form(tenant, "accepted"), follow=True)
    record = AcceptanceRecord.objects.get(tenant=tenant)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Launch acceptance certificate" in body
    assert 'data-testid="certificate-decision">Accepted<' in body
    assert "Still matches" in body
    assert record.snapshot_sha256 in body
    assert record.approval_reference in body
    assert AFFIRMATION in body
    assert reverse("launchroom:certificate_json", args=[tenant.slug, record.pk]) in body

    data = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, record.pk])).json()
    assert data["id"] == record.pk
    assert data["status"] == "current"
    assert data["superseded_by"] is None
    assert data["snapshot_matches"] is True
    assert data["snapshot_sha256"] == data["current_snapshot_sha256"] == record.snapshot_sha256
    assert data["signed_at"].endswith("Z")
    assert data["exclusions"] == record.exclusions
    assert (
        data["decision_log"]["entry_hash"]
        == DecisionLogEntry.objects.get(object_id=record.pk, kind="acceptance_record").entry_hash
    )


def test_it_links_superseded_certificates_to_their_successor(client, contoso):
    tenant = contoso
    client.force_login(buyer("contoso"))
    client.post(sign_url(tenant), sign_form(tenant, "accepted"))
    client.post(sign_url(tenant), sign_form(tenant, "accepted_with_exclusions"))
    first, second = AcceptanceRecord.objects.order_by("pk")
    body = client.get(reverse("launchroom:certificate", args=[tenant.slug, first.pk])).content.decode()
    assert "Superseded" in body
    assert reverse("launchroom:certificate", args=[tenant.slug, second.pk]) in body
    data = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, first.pk])).json()
    assert data["status"] == "superseded"
    assert data["superseded_by"] == second.pk
    data = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, second.pk])).json()
    assert data["supersedes"] == first.pk
    assert data["status"] == "current"
