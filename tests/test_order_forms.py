"""Order-form versions: a signed version is frozen, and a change makes a new version."""

import pytest
from django.core.exceptions import ValidationError

from core.append_only import AppendOnlyError
from core.errors import NotPermitted, Refused
from launchroom import catalog, demo
from launchroom.models import LaunchStage, OrderForm
from launchroom.orderforms.services import order_form_create, order_form_revise, order_form_sign
from launchroom.readiness.evaluation import evaluate
from tests.confirming import token_of
from tests.factories import countersign

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(staff):
    return demo.new_tenant("acme", "Acme", staff)


def test_it_freezes_a_signed_order_form(staff, tenant):
    signed = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    signed.compliance_modules = "Something else"
    with pytest.raises(AppendOnlyError):
        signed.save()
    with pytest.raises(AppendOnlyError):
        signed.delete()
    assert OrderForm.objects.get(pk=signed.pk).compliance_modules.startswith("Right-to-work")


def test_it_makes_a_new_draft_version_when_a_signed_one_changes(staff, tenant):
    signed = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    draft = order_form_revise(order_form=signed, by=staff["commercial"], cohort_size=300)
    assert (draft.version, draft.status, draft.cohort_size) == (2, "draft", 300)
    assert draft.compliance_modules == signed.compliance_modules
    signed.refresh_from_db()
    assert (signed.status, signed.cohort_size) == ("signed", 120)
    # The signed v1 still carries gate 3 until v2 is signed.
    assert evaluate(tenant).gate("order-form-scope").status == "accepted"


def test_it_counts_the_old_version_superseded_once_the_new_one_is_signed(staff, tenant):
    buyer = demo.ensure_buyer(tenant, "buyer-acme")
    v1 = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PRIVATE_BETA)
    demo.support_plan(tenant, staff)
    demo.all_evidence_accepted(tenant, staff)
    countersign(demo.sign_acceptance(tenant, buyer, LaunchStage.PRIVATE_BETA))
    assert evaluate(tenant, LaunchStage.PRIVATE_BETA).is_go
    v2 = order_form_revise(order_form=v1, by=staff["commercial"], cohort_size=500)
    assert evaluate(tenant, LaunchStage.PRIVATE_BETA).is_go  # a draft changes nothing yet
    order_form_sign(order_form=v2, approval_reference="PO-ACME-2", signer_name="Procurement", by=staff["commercial"])
    readiness = evaluate(tenant, LaunchStage.PRIVATE_BETA)
    assert readiness.gate("customer-acceptance").status == "stale"
    assert "order form v2 was signed after this acceptance (v1)" in readiness.gate("customer-acceptance").reasons
    assert not readiness.is_go
    v1_history = OrderForm.history.filter(id=v1.pk).count()
    assert v1_history == 2  # created, signed: never written again


def test_it_refuses_a_second_open_version(staff, tenant):
    demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    with pytest.raises(Refused, match="still draft"):
        order_form_create(tenant=tenant, by=staff["commercial"])


def test_it_refuses_to_sign_without_a_reference_or_scope(staff, tenant):
    draft = order_form_create(tenant=tenant, by=staff["commercial"])
    with pytest.raises(ValidationError) as excinfo:
        order_form_sign(order_form=draft, approval_reference=" ", signer_name="", by=staff["commercial"])
    assert set(excinfo.value.message_dict) == {"approval_reference", "signer_name"}
    with pytest.raises(Refused, match="compliance modules and worker cohort"):
        order_form_sign(order_form=draft, approval_reference="PO-1", signer_name="Pat", by=staff["commercial"])
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_it_lets_only_the_commercial_owner_sign(staff, tenant):
    draft = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    with pytest.raises(NotPermitted):
        order_form_sign(order_form=draft, approval_reference="PO-1", signer_name="Pat", by=staff["finance"])


def test_it_signs_through_the_admin_action(client, staff, tenant):
    draft = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    client.force_login(staff["commercial"])
    data = {
        "action": "sign",
        "_selected_action": [draft.pk],
        "apply": "1",
        "approval_reference": "PO-ACME-9",
        "signer_name": "Pat Procurement",
    }
    preview = client.post("/admin/launchroom/orderform/", data)  # signing moves gate 3: confirmed first
    response = client.post(
        "/admin/launchroom/orderform/",
        {**data, **token_of(preview), "confirm": "Record the signature anyway"},
        follow=True,
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.status, draft.approval_reference) == ("signed", "PO-ACME-9")
    assert draft.history.latest().history_user == staff["commercial"]


def test_it_shows_a_signed_order_form_read_only_in_the_admin(client, staff, tenant):
    signed = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    client.force_login(staff["commercial"])
    response = client.post(f"/admin/launchroom/orderform/{signed.pk}/change/", {"compliance_modules": "Changed"})
    signed.refresh_from_db()
    assert signed.compliance_modules.startswith("Right-to-work")
    assert response.status_code == 403
    page = client.get(f"/admin/launchroom/orderform/{signed.pk}/change/")
    assert b'name="compliance_modules"' not in page.content


def test_it_refuses_a_history_revert_post(client, staff, tenant):
    signed = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    client.force_login(staff["operator"])
    first = signed.history.earliest()
    response = client.post(f"/admin/launchroom/orderform/{signed.pk}/history/{first.history_id}/", {})
    assert response.status_code == 403
    signed.refresh_from_db()
    assert signed.status == "signed"


def test_it_revises_through_the_admin_action(client, staff, tenant):
    signed = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA)
    client.force_login(staff["commercial"])
    client.post("/admin/launchroom/orderform/", {"action": "revise", "_selected_action": [signed.pk]})
    assert list(OrderForm.objects.filter(tenant=tenant).values_list("version", "status")) == [
        (2, "draft"),
        (1, "signed"),
    ]


def scope_post(tenant, **changes):
    data = {
        "tenant": tenant.pk,
        "requested_stage": "paid_beta",
        "compliance_modules": "Right-to-work verification",
        "cohort_description": "Pilot cohort",
        "cohort_size": "40",
        "verifier_audience": "HR",
        "data_boundaries": "EU only",
        "excluded_claims": "\n".join(catalog.STANDING_EXCLUSIONS),
        "acceptance_language": "Accepted as scoped.",
    }
    data.update(changes)
    return data


def test_it_creates_the_first_version_through_the_admin(client, staff, tenant):
    client.force_login(staff["commercial"])
    page = client.get(f"/admin/launchroom/orderform/add/?tenant={tenant.pk}").content.decode()
    assert catalog.STANDING_EXCLUSIONS[0] in page  # the standing exclusions are prefilled
    response = client.post("/admin/launchroom/orderform/add/", scope_post(tenant))
    assert response.status_code == 302
    order_form = OrderForm.objects.get(tenant=tenant)
    assert (order_form.version, order_form.status, order_form.recorded_by) == (1, "draft", staff["commercial"])


def test_it_refuses_a_second_open_version_in_the_admin(client, staff, tenant):
    demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PAID_BETA, sign=False)
    client.force_login(staff["commercial"])
    response = client.post("/admin/launchroom/orderform/add/", scope_post(tenant))
    assert response.status_code == 200
    assert "edit that version instead" in response.content.decode()
    assert OrderForm.objects.filter(tenant=tenant).count() == 1
