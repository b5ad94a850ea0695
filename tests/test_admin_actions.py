"""Gate decisions and stage moves through the admin call the services and report refusals."""

import pytest

from launchroom import demo
from launchroom.models import GateDecision, StageChange
from tests.launch_helpers import like_demo

pytestmark = pytest.mark.django_db


def test_it_accepts_a_gate_from_the_tenant_page(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    demo.attach_evidence(tenant, staff, "strict-proof-plan")
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/decide/",
        {"apply": "1", "gate_key": "strict-proof-plan", "decision": "accepted", "note": "Proof JSON reviewed."},
    )
    assert response.status_code == 302
    decision = GateDecision.objects.get(tenant=tenant)
    assert (decision.decision, decision.decided_by, decision.note) == (
        "accepted",
        staff["operator"],
        "Proof JSON reviewed.",
    )


def test_it_shows_the_refusal_and_saves_nothing(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/decide/",
        {"apply": "1", "gate_key": "strict-proof-plan", "decision": "accepted", "note": "Looks fine."},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Production proof JSON is missing" in body
    assert "Production-proof smoke output is missing" in body
    assert not GateDecision.objects.exists()


def test_it_refuses_a_gate_to_the_wrong_role(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    demo.attach_evidence(tenant, staff, "security-procurement-pack")
    client.force_login(staff["support"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/decide/",
        {"apply": "1", "gate_key": "security-procurement-pack", "decision": "accepted", "note": "ok"},
    )
    # The form offers only the gates this user may decide; the service refuses the rest too.
    assert "is not one of the available choices" in response.content.decode()
    assert not GateDecision.objects.exists()


def test_it_needs_a_note(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/decide/",
        {"apply": "1", "gate_key": "strict-proof-plan", "decision": "reopened", "note": ""},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not GateDecision.objects.exists()


def test_it_moves_stages_as_a_changelist_action_and_reports_counts(client, staff):
    globex = like_demo("globex")
    northwind = like_demo("northwind")
    client.force_login(staff["operator"])
    response = client.post(
        "/admin/launchroom/tenant/",
        {
            "action": "move_stage",
            "_selected_action": [globex.pk, northwind.pk],
            "apply": "1",
            "to_stage": "paused",
            "reason": "Quarter-end freeze.",
        },
        follow=True,
    )
    body = response.content.decode()
    # The messages say what happened to each tenant, not "done for 2 tenant(s)".
    assert "Moved Globex Corporation from Paid beta (invoice-led) to Paused." in body
    assert "Moved Northwind Traders from Setup to Paused." in body
    assert "tenant(s)" not in body
    assert StageChange.objects.filter(to_stage="paused").count() == 2


def test_it_refuses_a_move_into_beta_on_hold_with_the_reasons(client, staff):
    northwind = like_demo("northwind")
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{northwind.pk}/move-stage/",
        {"apply": "1", "to_stage": "private_beta", "reason": ""},
    )
    body = response.content.decode()
    assert "Refused for Northwind Traders:" in body
    # The reasons are a list, never joined with ".;".
    assert '<ul class="refusal-reasons"><li>' in body
    assert ".;" not in body
    assert "Customer order-form scope" in body
    northwind.refresh_from_db()
    assert northwind.stage == "setup"
    assert not StageChange.objects.filter(tenant=northwind).exists()


def test_it_shows_readiness_at_a_glance_on_the_tenant_page(client, staff):
    contoso = like_demo("contoso")
    client.force_login(staff["security"])
    body = client.get(f"/admin/launchroom/tenant/{contoso.pk}/change/").content.decode()
    assert "Readiness at a glance" in body
    assert "Customer acceptance record" in body
    assert 'status--missing">Missing' in body
    assert f"/admin/launchroom/tenant/{contoso.pk}/decide/?gate=security-procurement-pack" in body
    # Security may attach and decide, but not move stages: no such link is offered.
    assert "move-stage" not in body


def test_it_keeps_the_tenant_change_page_at_its_pinned_query_count(client, staff):
    from tests.query_counts import assert_pinned_queries

    contoso = like_demo("contoso")
    client.force_login(staff["operator"])
    client.get(f"/admin/launchroom/tenant/{contoso.pk}/change/")
    with assert_pinned_queries("admin: tenant change page"):
        assert client.get(f"/admin/launchroom/tenant/{contoso.pk}/change/").status_code == 200


def test_it_invites_a_buyer_from_the_tenant_page(client, staff, mailoutbox, django_capture_on_commit_callbacks):
    from launchroom.models import TenantMembership

    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["commercial"])
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail leaves once the membership is saved
        response = client.post(
            f"/admin/launchroom/tenant/{tenant.pk}/invite/",
            {"email": "Dana.Doe@acme.example", "role": "buyer_sponsor"},
        )
    assert response.status_code == 302
    membership = TenantMembership.objects.get(tenant=tenant)
    assert (membership.role, membership.user.is_staff) == ("buyer_sponsor", False)
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [membership.user.email]


def test_it_refuses_invitations_to_roles_without_the_permission(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["finance"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/invite/", {"email": "x@acme.example", "role": "buyer_sponsor"}
    )
    assert response.status_code == 403
    assert not tenant.memberships.exists()


def test_it_links_only_the_records_a_role_may_open(client, staff):
    contoso = like_demo("contoso")
    client.force_login(staff["commercial"])
    body = client.get(f"/admin/launchroom/tenant/{contoso.pk}/change/").content.decode()
    assert "/admin/billing/billingprofile/" not in body  # commercial owners have no billing access
    assert "Invite a buyer" in body
    client.force_login(staff["finance"])
    body = client.get(f"/admin/launchroom/tenant/{contoso.pk}/change/").content.decode()
    assert "/admin/billing/billingprofile/" in body
    assert "Invite a buyer" not in body
