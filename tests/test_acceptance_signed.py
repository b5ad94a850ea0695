"""A signed acceptance record (a tenant accepted for paid beta and moved into it): it goes stale with a new
order form, it cannot be changed by any route, and its certificate says when it no longer matches.

docs/RULES.md section 5; the signing form itself is tested in ``tests/test_acceptance.py``.
"""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from core.append_only import AppendOnlyError
from launchroom.models import AcceptanceRecord, OrderForm
from launchroom.orderforms.services import order_form_create, order_form_sign
from launchroom.readiness.evaluation import evaluate
from tests.factories import ready_tenant
from tests.launch_helpers import buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db):
    """Signed for paid beta by its buyer sponsor and moved into it."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


def test_it_marks_acceptance_stale_when_a_new_order_form_version_is_signed(client, staff, globex):
    tenant = globex
    draft = order_form_create(tenant=tenant, by=staff["commercial"], cohort_size=300)
    order_form_sign(
        order_form=draft, approval_reference="PO-GLOBEX-2026-02", signer_name="Procurement", by=staff["commercial"]
    )
    assert evaluate(tenant).gate("customer-acceptance").status == "stale"
    client.force_login(buyer("globex"))
    body = client.get(reverse("launchroom:room", args=[tenant.slug])).content.decode()
    assert "Order form v2 was signed after this acceptance (v1)" in body
    assert OrderForm.objects.filter(tenant=tenant).count() == 2


def test_it_cannot_change_an_acceptance_record_by_model_save_or_queryset(globex):
    tenant = globex
    record = AcceptanceRecord.objects.get(tenant=tenant)
    record.decision = "rejected"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        AcceptanceRecord.objects.filter(pk=record.pk).update(decision="rejected")
    with pytest.raises(AppendOnlyError):
        AcceptanceRecord.objects.filter(pk=record.pk).delete()
    with pytest.raises(AppendOnlyError):
        AcceptanceRecord.objects.bulk_update([record], ["decision"])
    record.refresh_from_db()
    assert record.decision == "accepted"


def test_it_cannot_change_an_acceptance_record_through_the_admin(client, staff, globex):
    tenant = globex
    record = AcceptanceRecord.objects.get(tenant=tenant)
    before = model_to_dict(record)
    client.force_login(staff["operator"])  # a superuser
    change = reverse("admin:index") + f"launchroom/acceptancerecord/{record.pk}/change/"
    delete = reverse("admin:index") + f"launchroom/acceptancerecord/{record.pk}/delete/"
    payload = {**{k: v for k, v in before.items() if v is not None and not isinstance(v, list | dict)}}
    payload.update(decision="rejected", signer_name="Someone else", post="yes")
    response = client.post(change, payload)
    assert response.status_code in (200, 302, 403, 404, 405)
    response = client.post(delete, {"post": "yes"})
    assert response.status_code in (200, 302, 403, 404, 405)
    record.refresh_from_db()
    assert model_to_dict(record) == before
    assert AcceptanceRecord.objects.filter(pk=record.pk).exists()


def test_it_says_when_a_certificate_no_longer_matches_and_what_changed(client, staff, globex):
    from launchroom.readiness.services import gate_decide

    tenant = globex
    record = AcceptanceRecord.objects.get(tenant=tenant)
    gate_decide(
        tenant=tenant,
        gate_key="strict-proof-plan",
        decision="rejected",
        note="Proof JSON is out of date.",
        by=staff["operator"],
    )
    client.force_login(buyer("globex"))
    body = client.get(reverse("launchroom:certificate", args=[tenant.slug, record.pk])).content.decode()
    assert "No longer matches" in body
    assert "Gate 2 (Strict proof plan is published): accepted then, rejected now." in body
    data = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, record.pk])).json()
    assert data["snapshot_matches"] is False
    assert data["current_snapshot_sha256"] != record.snapshot_sha256
    assert "Gate 2 (Strict proof plan is published): accepted then, rejected now." in data["changes"]


def test_it_still_names_evidence_that_was_replaced_after_signing(client, staff, globex):
    from evidence.services import evidence_attach

    tenant = globex
    record = AcceptanceRecord.objects.get(tenant=tenant)
    signed_ids = {ref["id"] for ref in record.evidence_references}
    replaced = evaluate(tenant).gate("strict-proof-plan").requirements[0].attachment
    evidence_attach(  # newer output replaces the file the buyer signed against
        tenant=tenant,
        gate_key="strict-proof-plan",
        requirement_key=replaced.requirement_key,
        by=staff["security"],
        output="newer proof output",
    )
    client.force_login(buyer("globex"))
    body = client.get(reverse("launchroom:certificate", args=[tenant.slug, record.pk])).content.decode()
    assert "No longer matches" in body
    assert replaced.original_name in body  # the replaced file the buyer signed against
    data = client.get(reverse("launchroom:certificate_json", args=[tenant.slug, record.pk])).json()
    assert {ref["id"] for ref in data["evidence_references"]} == signed_ids
