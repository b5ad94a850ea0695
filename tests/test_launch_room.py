"""The launch room page: who reaches it, what it shows, and what it costs in queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from billing.models import BillingProfile
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.models import AcceptanceRecord, Incident, MembershipRole, Severity, Tenant, TenantMembership
from launchroom.readiness.evaluation import evaluate
from launchroom.tenants.access import client_address
from tests.launch_helpers import buyer, like_demo, member
from tests.query_counts import assert_pinned_queries

pytestmark = pytest.mark.django_db


def room_url(tenant: Tenant) -> str:
    return reverse("launchroom:room", args=[tenant.slug])


def add_old_evidence(tenant: Tenant, staff: dict, count: int) -> None:
    """``count`` older runs of gate 1's launch smoke: history that must not cost queries."""
    now = timezone.now()
    for i in range(count):
        evidence_attach(
            tenant=tenant,
            gate_key="public-deployment",
            requirement_key="launch-smoke",
            by=staff["operator"],
            output=f"launch smoke run {i}: 12 checks passed",
            captured_at=now - timedelta(days=10, minutes=i),
            produced_by_command="launch_proof_bundle",
        )


def test_it_redirects_anonymous_users_to_the_login_page(client, staff):
    tenant = like_demo("northwind")
    for url in (reverse("launchroom:index"), room_url(tenant)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_sends_a_buyer_with_one_tenant_straight_to_its_room(client, staff):
    tenant = like_demo("northwind")
    client.force_login(buyer("northwind"))
    response = client.get(reverse("launchroom:index"))
    assert response.status_code == 302
    assert response["Location"] == room_url(tenant)


def test_it_lands_on_the_launch_room_after_login(client, staff):
    tenant = like_demo("northwind")
    response = client.post(reverse("login"), {"username": "buyer-northwind", "password": "demo"}, follow=True)
    assert response.redirect_chain[-1][0] == room_url(tenant)
    assert response.status_code == 200


def test_it_lists_the_tenants_of_a_buyer_with_several(client, staff):
    northwind = like_demo("northwind")
    contoso = like_demo("contoso")
    user = buyer("northwind")
    TenantMembership.objects.create(user=user, tenant=contoso, role=MembershipRole.VIEWER)
    client.force_login(user)
    response = client.get(reverse("launchroom:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert room_url(northwind) in body
    assert room_url(contoso) in body
    assert "Hold" in body


def test_it_tells_a_customer_without_tenants_how_to_get_access(client, staff, django_user_model):
    user = django_user_model.objects.create_user("lonely", "lonely@example.com", "pw-lonely-123456")
    client.force_login(user)
    response = client.get(reverse("launchroom:index"))
    assert response.status_code == 200
    assert "no launch rooms yet" in response.content.decode()


def test_it_shows_staff_the_portfolio_at_the_index(client, staff):
    client.force_login(staff["operator"])
    response = client.get(reverse("launchroom:index"))
    assert response.status_code == 200
    assert "launchroom/dashboard.html" in [t.name for t in response.templates]


def test_it_shows_northwind_on_hold_with_its_reasons_in_plain_words(client, staff):
    tenant = like_demo("northwind")
    client.force_login(buyer("northwind"))
    response = client.get(room_url(tenant))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="decision">Hold<' in body
    readiness = response.context["readiness"]
    assert readiness.decision == "hold"
    for gate in readiness.gates:
        if gate.blocks:
            assert gate.gate.title in body
            # The buyer reads what holding means for them, not the staff instruction.
            assert escape(gate.gate.buyer_if_missing) in body
            assert gate.gate.if_missing not in body
    assert "no signed order form (v1 is draft)" in body
    assert "Setup" in body
    assert "Private beta (no-charge)" in body


def test_it_shows_every_gate_with_status_owner_and_what_is_needed(client, staff):
    tenant = like_demo("northwind")
    client.force_login(buyer("northwind"))
    body = client.get(room_url(tenant)).content.decode()
    for gate in catalog.GATES:
        assert f'id="gate-{gate.number}"' in body
        assert gate.title in body
        assert gate.owner in body
    # Status as words as well as colour.
    assert '<span class="status status--missing">Missing</span>' in body
    assert '<span class="status status--ready_for_review">Ready for review</span>' in body
    # What is still needed, and the next step for each unmet requirement.
    assert "Production proof JSON is missing" in body
    assert "Attach /api/product/production-proof output." in body


def test_it_shows_only_the_latest_evidence_per_requirement_with_a_link_to_the_rest(client, staff):
    tenant = like_demo("contoso")
    add_old_evidence(tenant, staff, 3)
    client.force_login(buyer("contoso"))
    body = client.get(room_url(tenant)).content.decode()
    readiness = evaluate(tenant)
    latest = readiness.gate("public-deployment").requirements[1].attachment
    assert reverse("evidence:download", args=[latest.pk]) in body
    for old in EvidenceAttachment.objects.filter(tenant=tenant, output__startswith="launch smoke run"):
        assert reverse("evidence:download", args=[old.pk]) not in body
    assert "3 earlier versions" in body
    assert reverse("launchroom:evidence", args=[tenant.slug]) in body


def test_it_pages_through_all_the_evidence(client, staff):
    tenant = like_demo("contoso")
    add_old_evidence(tenant, staff, 30)
    client.force_login(buyer("contoso"))
    url = reverse("launchroom:evidence", args=[tenant.slug])
    total = EvidenceAttachment.objects.filter(tenant=tenant).count()
    first = client.get(url)
    assert first.status_code == 200
    assert len(first.context["rows"]) == 25
    assert f"{total} items" in first.content.decode()
    second = client.get(url, {"page": 2})
    shown = {row["attachment"].pk for row in first.context["rows"]} | {
        row["attachment"].pk for row in second.context["rows"]
    }
    assert len(shown) == min(total, 50)


def test_it_shows_scope_billing_support_and_open_incidents(client, staff):
    tenant = like_demo("contoso")
    Incident.objects.create(
        tenant=tenant,
        opened_at=timezone.now(),
        severity=Severity.SEV2,
        summary="Credential verification is slow",
        customer_impact="Verifiers wait up to a minute for a result.",
    )
    Incident.objects.create(
        tenant=tenant,
        opened_at=timezone.now() - timedelta(days=3),
        resolved_at=timezone.now() - timedelta(days=2),
        severity=Severity.SEV3,
        summary="An old resolved incident",
        customer_impact="None now.",
    )
    client.force_login(buyer("contoso"))
    body = client.get(room_url(tenant)).content.decode()
    order_form = tenant.order_forms.get()
    for text in (
        "Right-to-work verification",
        order_form.cohort_description,
        order_form.verifier_audience,
        "EU data residency",
        order_form.approval_reference,
        "Version 1",
        "The buyer accepts the managed beta",
        "Invoice only",
        "Net 30 against a purchase order",
        tenant.billing_profile.billing_owner_name,
        "Manual billing fallback",
        "Priya Patel",
        "on-call operator",
        "Shared channel",  # the manual incident channel
        "Credential verification is slow",
        "Verifiers wait up to a minute",
    ):
        assert text in body, text
    assert "An old resolved incident" not in body
    for claim in catalog.STANDING_EXCLUSIONS:
        assert claim in body


def test_it_shows_the_timeline_of_decisions_records_moves_and_order_forms(client, staff):
    tenant = like_demo("initech")
    client.force_login(buyer("initech"))
    body = client.get(room_url(tenant)).content.decode()
    # Initech buys paid beta but signed private beta: the timeline still shows that record.
    assert "Stage move" in body
    assert "Setup → Private beta (no-charge)" in body
    assert "Gate decision" in body
    assert "Version 1 signed" in body
    assert "Acceptance record" in body
    record = AcceptanceRecord.objects.get(tenant=tenant)
    assert reverse("launchroom:certificate", args=[tenant.slug, record.pk]) in body


def test_it_shows_the_residual_risks_signed_for_the_stage(client, staff):
    tenant = like_demo("globex")
    client.force_login(buyer("globex"))
    body = client.get(room_url(tenant)).content.decode()
    assert 'data-testid="decision">Go<' in body
    assert "Support communication stays manual during the beta" in body


def test_it_shows_the_form_to_the_buyer_sponsor_and_read_only_to_staff(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    response = client.get(room_url(tenant))
    body = response.content.decode()
    assert "Sign the acceptance record</button>" in body
    assert reverse("launchroom:sign", args=[tenant.slug]) in body
    form = response.context["acceptance_form"]
    assert form["exclusions"].value().splitlines() == evaluate(tenant).do_not_claim
    assert form["approval_reference"].value() == tenant.order_forms.get().approval_reference

    client.force_login(staff["commercial"])
    response = client.get(room_url(tenant))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Sign the acceptance record</button>" not in body
    assert "read-only" in body
    assert all(field.disabled for field in response.context["acceptance_form"].fields.values())


def test_it_tells_other_members_only_the_sponsor_signs(client, staff):
    tenant = like_demo("contoso")
    client.force_login(member(tenant, "viewer-contoso"))
    body = client.get(room_url(tenant)).content.decode()
    assert "Only your buyer sponsor signs" in body
    assert "Sign the acceptance record</button>" not in body


def test_it_refuses_the_sign_post_to_members_who_are_not_the_sponsor(client, staff):
    tenant = like_demo("contoso")
    for user in (member(tenant, "viewer-contoso"), staff["operator"]):
        client.force_login(user)
        response = client.post(reverse("launchroom:sign", args=[tenant.slug]), {"decision": "accepted"})
        assert response.status_code == 403
    assert not AcceptanceRecord.objects.filter(tenant=tenant).exists()


def test_it_lets_buyer_finance_accept_the_billing_fallback(client, staff):
    tenant = like_demo("contoso")
    profile = BillingProfile.objects.get(tenant=tenant)
    # New terms need a new acceptance.
    profile.seat_cap = 200
    profile.save()
    assert not profile.fallback_accepted
    finance = member(tenant, "finance-contoso", MembershipRole.BUYER_FINANCE)
    client.force_login(finance)
    body = client.get(room_url(tenant)).content.decode()
    assert "Accept the billing fallback</button>" in body
    response = client.post(
        reverse("launchroom:billing_fallback", args=[tenant.slug]), {"name": "Fiona Contoso", "confirm": "on"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#billing")
    profile.refresh_from_db()
    assert profile.fallback_accepted
    assert profile.fallback_accepted_by == finance
    assert profile.fallback_accepted_name == "Fiona Contoso"
    assert profile.history.first().history_user == finance


def test_it_refuses_the_billing_fallback_to_viewers_and_without_confirmation(client, staff):
    tenant = like_demo("contoso")
    profile = BillingProfile.objects.get(tenant=tenant)
    profile.plan = "Design partner, extended"
    profile.save()
    url = reverse("launchroom:billing_fallback", args=[tenant.slug])
    client.force_login(member(tenant, "viewer-contoso"))
    assert client.post(url, {"name": "V", "confirm": "on"}).status_code == 403
    client.force_login(buyer("contoso"))
    response = client.post(url, {"name": "Carlos Conti"}, follow=True)
    assert "tick the box" in response.content.decode()
    profile.refresh_from_db()
    assert not profile.fallback_accepted


def test_it_never_changes_state_on_get(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    before = (
        AcceptanceRecord.objects.count(),
        AcceptanceRecord.history.count(),
        BillingProfile.history.count(),
        list(BillingProfile.objects.values()),
    )
    for url in (
        room_url(tenant),
        reverse("launchroom:sign", args=[tenant.slug]),
        reverse("launchroom:billing_fallback", args=[tenant.slug]),
        reverse("launchroom:evidence", args=[tenant.slug]),
    ):
        response = client.get(url, {"decision": "accepted", "confirm": "on", "name": "x"})
        assert response.status_code in (200, 405)
    after = (
        AcceptanceRecord.objects.count(),
        AcceptanceRecord.history.count(),
        BillingProfile.history.count(),
        list(BillingProfile.objects.values()),
    )
    assert before == after


def test_it_keeps_the_room_at_its_pinned_query_count_whatever_the_evidence(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    url = room_url(tenant)
    client.get(url)  # warm the session
    # Each measured request renders: the page the one before kept is dropped.
    cache.clear()
    # Session, user, membership; the room version; the five readiness loads; stage moves; open incidents.
    with assert_pinned_queries("launch room: buyer sponsor"):
        assert client.get(url).status_code == 200
    cache.clear()
    with CaptureQueriesContext(connection) as small:
        client.get(url)

    add_old_evidence(tenant, staff, 100)
    Incident.objects.create(
        tenant=tenant, opened_at=timezone.now(), severity=Severity.SEV3, summary="Slow", customer_impact="Minor"
    )
    cache.clear()
    with CaptureQueriesContext(connection) as large:
        response = client.get(url)
    assert response.status_code == 200
    assert "100 earlier versions" in response.content.decode()
    assert len(large.captured_queries) == len(small.captured_queries)


def test_it_keeps_the_evidence_page_at_its_pinned_query_count(client, staff):
    tenant = like_demo("contoso")
    add_old_evidence(tenant, staff, 100)
    client.force_login(buyer("contoso"))
    url = reverse("launchroom:evidence", args=[tenant.slug])
    client.get(url)
    # Session, user, membership, count, page.
    with assert_pinned_queries("evidence list: buyer"):
        assert client.get(url, {"page": 3}).status_code == 200


def test_it_keeps_the_certificate_at_its_pinned_query_count(client, staff):
    tenant = like_demo("globex")
    add_old_evidence(tenant, staff, 50)
    record = AcceptanceRecord.objects.get(tenant=tenant)
    client.force_login(buyer("globex"))
    url = reverse("launchroom:certificate", args=[tenant.slug, record.pk])
    client.get(url)
    # Session, user, membership, record, the five readiness loads, decision log link.
    with assert_pinned_queries("certificate html: buyer"):
        assert client.get(url).status_code == 200


def test_it_reads_the_client_address_through_trusted_proxies_only(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_address(request) == "10.0.0.5"
    bad = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(bad) is None


def test_it_shows_how_the_current_beta_stands_while_buying_the_other(client, staff):
    tenant = like_demo("initech")
    client.force_login(buyer("initech"))
    response = client.get(room_url(tenant))
    body = response.content.decode()
    assert response.context["readiness"].stage == "paid_beta"
    assert 'data-testid="decision">Hold<' in body
    assert "you can run a no-charge private beta only" in body
    assert response.context["current_stage_readiness"].is_go
    assert "Your current private beta (no-charge)" in body


def test_it_keeps_tenant_pages_out_of_shared_caches(client, staff):
    tenant = like_demo("globex")
    record = AcceptanceRecord.objects.get(tenant=tenant)
    client.force_login(buyer("globex"))
    for url in (
        room_url(tenant),
        reverse("launchroom:evidence", args=[tenant.slug]),
        reverse("launchroom:certificate", args=[tenant.slug, record.pk]),
        reverse("launchroom:certificate_json", args=[tenant.slug, record.pk]),
        f"/api/platform/launch-acceptance?tenant={tenant.slug}",
    ):
        cache_control = client.get(url)["Cache-Control"]
        assert "private" in cache_control
        assert "no-store" in cache_control


def test_it_offers_to_withdraw_only_when_there_is_a_record_to_withdraw(client, staff):
    contoso, globex = like_demo("contoso"), like_demo("globex")
    client.force_login(buyer("contoso"))
    choices = [
        value for value, _ in client.get(room_url(contoso)).context["acceptance_form"].fields["decision"].choices
    ]
    assert "superseded" not in choices
    client.force_login(buyer("globex"))
    choices = [value for value, _ in client.get(room_url(globex)).context["acceptance_form"].fields["decision"].choices]
    assert "superseded" in choices
