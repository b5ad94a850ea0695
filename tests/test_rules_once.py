"""Each rule is decided once, by its service; the room, the API and the admin only translate it."""

from __future__ import annotations

import json

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from core.admin import add_service_errors
from core.errors import NotPermitted, Refused
from launchroom.acceptance.services import SnapshotChanged, acceptance_sign
from launchroom.models import AcceptanceRecord, MembershipRole, Tenant
from launchroom.readiness.evaluation import evaluate
from launchroom.tenants.access import member_role, tenant_for_user
from tests.launch_helpers import api_body, buyer, like_demo, member, sign_form

pytestmark = pytest.mark.django_db

API = "/api/platform/launch-acceptance"
NOT_SPONSOR = "Only the tenant's buyer sponsor signs the acceptance record."


def sign_kwargs(tenant, user, **overrides):  # type: ignore[no-untyped-def]
    readiness = evaluate(tenant)
    kwargs = {
        "tenant": tenant,
        "stage": readiness.stage,
        "decision": "accepted",
        "signer_name": "Carlos Conti",
        "signer_role": "Head of compliance operations",
        "recorded_by": user,
        "exclusions": readiness.do_not_claim,
        "residual_risks": ["Support stays manual"],
    }
    kwargs.update(overrides)
    return kwargs


# Who signs: one answer through the service, the room and the API ------------------------


@pytest.mark.parametrize("role", [MembershipRole.VIEWER, MembershipRole.BUYER_FINANCE])
def test_it_gives_a_non_sponsor_the_services_refusal_through_room_api_and_service(client, staff, role):
    tenant = like_demo("contoso")
    user = member(tenant, f"{role}-contoso", role)
    with pytest.raises(NotPermitted) as refused:
        acceptance_sign(**sign_kwargs(tenant, user))
    assert refused.value.reasons == [NOT_SPONSOR]

    client.force_login(user)
    room = client.post(reverse("launchroom:sign", args=[tenant.slug]), sign_form(tenant))
    assert room.status_code == 403
    api = client.patch(API, json.dumps(api_body(tenant)), content_type="application/json")
    assert api.status_code == 403
    assert api.json()["reasons"] == [NOT_SPONSOR]
    page = client.get(reverse("launchroom:room", args=[tenant.slug]))
    assert page.context["can_sign"] is False
    assert not AcceptanceRecord.objects.exists()


def test_it_refuses_staff_signing_for_themselves_in_the_room_as_in_the_api(client, staff):
    tenant = like_demo("contoso")
    client.force_login(staff["operator"])
    assert client.post(reverse("launchroom:sign", args=[tenant.slug]), sign_form(tenant)).status_code == 403
    api = client.patch(API, json.dumps(api_body(tenant)), content_type="application/json")
    assert api.status_code == 403
    assert "written approval" in api.json()["reasons"][0]
    assert not AcceptanceRecord.objects.exists()


# Sign what you saw, under the lock -------------------------------------------------------


def test_it_refuses_in_the_service_a_signature_of_a_snapshot_that_changed(staff):
    tenant = like_demo("contoso")
    with pytest.raises(SnapshotChanged) as refused:
        acceptance_sign(**sign_kwargs(tenant, buyer("contoso"), seen_snapshot_sha256="0" * 64))
    assert refused.value.current_sha256 == evaluate(tenant).acceptance_snapshot_sha256()
    assert not AcceptanceRecord.objects.exists()


def test_it_shows_the_room_again_with_the_new_snapshot_when_it_changed(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    response = client.post(reverse("launchroom:sign", args=[tenant.slug]), sign_form(tenant, snapshot_sha256="0" * 64))
    assert response.status_code == 409
    assert "The readiness changed while this page was open" in response.content.decode()
    form = response.context["acceptance_form"]
    assert form["snapshot_sha256"].value() == evaluate(tenant).acceptance_snapshot_sha256()
    assert not AcceptanceRecord.objects.exists()


def test_it_saves_nothing_for_an_identical_repeat_in_the_service(staff):
    tenant = like_demo("contoso")
    user = buyer("contoso")
    first = acceptance_sign(**sign_kwargs(tenant, user))
    again = acceptance_sign(**sign_kwargs(tenant, user))
    assert again.pk == first.pk
    assert again.repeated is True
    assert AcceptanceRecord.objects.count() == 1
    changed = acceptance_sign(**sign_kwargs(tenant, user, residual_risks=["Another risk"]))
    assert changed.supersedes_id == first.pk


def test_it_refuses_a_signature_resting_on_evidence_other_than_the_one_seen(staff):
    tenant = like_demo("contoso")
    ref = evaluate(tenant).evidence_references()[0]
    with pytest.raises(Refused, match="does not have the SHA-256"):
        acceptance_sign(**sign_kwargs(tenant, buyer("contoso"), seen_evidence=[(ref["id"], "f" * 64)]))
    assert not AcceptanceRecord.objects.exists()


# Tenant isolation: one check -------------------------------------------------------------


def test_it_restricts_tenants_to_what_each_user_may_see(staff):
    contoso = like_demo("contoso")
    northwind = like_demo("northwind")
    inactive = member(northwind, "gone-northwind", MembershipRole.BUYER_SPONSOR)
    inactive.is_active = False
    inactive.save()
    for user, expected in [
        (staff["support"], set(Tenant.objects.all())),
        (buyer("contoso"), {contoso}),
        (buyer("northwind"), {northwind}),
        (inactive, set()),
        (AnonymousUser(), set()),
    ]:
        assert set(Tenant.objects.restrict(user)) == expected
    assert {contoso, northwind} <= set(Tenant.objects.restrict(staff["support"]))
    assert member_role(buyer("northwind"), northwind) == MembershipRole.BUYER_SPONSOR
    assert member_role(buyer("contoso"), northwind) is None
    assert member_role(inactive, northwind) is None
    assert member_role(staff["support"], northwind) is None


def test_it_answers_isolation_with_one_rule_for_room_api_and_evidence(client, staff):
    contoso = like_demo("contoso")
    northwind = like_demo("northwind")
    attachment = evaluate(northwind).data.attachments[0]
    stranger = buyer("contoso")
    inactive = member(northwind, "gone-northwind")
    inactive.is_active = False
    inactive.save()
    download = reverse("evidence:download", args=[attachment.pk])
    for user, expected in [(stranger, False), (buyer("northwind"), True), (staff["support"], True), (inactive, False)]:
        try:
            tenant_for_user(user, northwind.slug)
            found = True
        except Http404:
            found = False
        assert found is expected
        client.force_login(user)
        if user.is_active:
            assert (client.get(download).status_code == 200) is expected
    client.force_login(stranger)
    assert client.get(f"/api/platform/tenants/{northwind.slug}/readiness").status_code == 404
    assert client.get(f"/api/platform/tenants/{contoso.slug}/readiness").status_code == 200
    assert client.get(reverse("evidence:download", args=[attachment.pk])).status_code == 404


# The admin helper -------------------------------------------------------------------------


class _Form(forms.Form):
    note = forms.CharField(required=False)


def test_it_puts_field_errors_on_their_field_and_the_rest_on_the_form():
    form = _Form({"note": "x"})
    assert form.is_valid()
    add_service_errors(form, ValidationError({"note": "A decision needs a note.", "gate_key": "No gate 'x'."}))
    assert form.errors["note"] == ["A decision needs a note."]
    assert form.non_field_errors() == ["Gate key: No gate 'x'."]
    other = _Form({})
    assert other.is_valid()
    add_service_errors(other, Refused(["First reason.", "Second reason."]))
    add_service_errors(other, ValidationError("A plain message."))
    assert other.non_field_errors() == ["First reason.", "Second reason.", "A plain message."]
