"""What changed, shown to whoever must act: billing terms since the buyer accepted, evidence
since signing (certificate and launch room alike), and deciding with the evidence in view."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from billing.models import BillingProfile
from billing.services import billing_profile_save
from evidence.models import EvidenceAttachment
from evidence.services import evidence_attach
from launchroom.models import AcceptanceRecord
from tests.factories import ready_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db: None) -> Any:
    """Billing accepted, signed for paid beta and moved into it."""
    return ready_tenant("globex", sign_for="paid_beta", live=True)


def as_user(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def test_it_shows_the_buyer_the_billing_terms_that_changed_since_they_accepted(client, staff, globex):
    profile = BillingProfile.objects.get(tenant=globex)
    billing_profile_save(tenant=globex, by=staff["finance"], seat_cap=(profile.seat_cap or 0) + 50)
    profile.refresh_from_db()
    assert profile.terms_changed_since_acceptance() == [
        {"label": "Seat cap", "then": profile.seat_cap - 50, "now": profile.seat_cap}
    ]
    buyer = get_user_model().objects.get(username="buyer-globex")
    page = as_user(client, buyer).get(f"/launch-room/{globex.slug}/").content.decode()
    assert "Needs a new acceptance" in page
    assert f"<strong>Seat cap</strong>: {profile.seat_cap - 50} when accepted, {profile.seat_cap} now" in page


def test_it_names_each_evidence_item_replaced_since_signing_on_the_certificate_and_in_the_room(client, staff, globex):
    record = AcceptanceRecord.objects.filter(tenant=globex).latest("signed_at")
    old = EvidenceAttachment.objects.filter(
        tenant=globex, gate_key="public-deployment", requirement_key="deployment-url"
    ).latest("captured_at")
    new = evidence_attach(
        tenant=globex,
        gate_key="public-deployment",
        requirement_key="deployment-url",
        by=staff["security"],
        url="https://globex.example/new-launch",
    )
    buyer = get_user_model().objects.get(username="buyer-globex")
    client = as_user(client, buyer)
    certificate = client.get(f"/launch-room/{globex.slug}/acceptance/{record.pk}/").content.decode()
    expected = (
        f"Evidence for gate 1, Production deployment URL was replaced: SHA-256 {old.sha256} (#{old.pk}) then, "
        f"{new.sha256} (#{new.pk}) now"
    )
    assert expected in certificate
    assert "attached by " + (staff["security"].get_full_name() or "security") in certificate
    assert "item(s)" not in certificate
    room = client.get(f"/launch-room/{globex.slug}/").content.decode()
    assert expected in room


def test_it_decides_with_the_evidence_in_view_and_flags_one_file_on_several_requirements(client, staff, globex):
    for key in ("production-proof-json", "production-proof-smoke"):
        evidence_attach(
            tenant=globex, gate_key="strict-proof-plan", requirement_key=key, by=staff["security"], output="same"
        )
    shared = EvidenceAttachment.objects.filter(tenant=globex, gate_key="strict-proof-plan").latest("id")
    page = as_user(client, staff["operator"]).get(
        f"/admin/launchroom/tenant/{globex.pk}/decide/?gate=strict-proof-plan"
    )
    html = page.content.decode()
    assert shared.sha256 in html
    assert f"/evidence/{shared.pk}/download" in html
    assert "Same SHA-256 also attached to: gate 2: Production-proof smoke output" in html
    assert "Gate 2. Strict proof plan is published" in html


def test_it_offers_only_the_gates_the_user_may_decide(client, staff, globex):
    support = as_user(client, staff["support"])
    form = support.get(f"/admin/launchroom/tenant/{globex.pk}/decide/").content.decode()
    assert 'value="support-fallback"' in form
    assert 'value="public-deployment"' not in form
    tenant_page = support.get(f"/admin/launchroom/tenant/{globex.pk}/change/").content.decode()
    assert "decide/?gate=support-fallback" in tenant_page
    assert "decide/?gate=public-deployment" not in tenant_page
