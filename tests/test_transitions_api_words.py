"""GET /api/platform/tenants/<slug>/transitions answers a buyer in the launch room's words: the
actor as a role title, never a staff username; the cause as the room words it, never a service
name. Staff read the stored cause and the username, as before."""

from __future__ import annotations

import pytest

from billing.services import billing_fallback_accept, billing_profile_save
from launchroom.catalog import Role
from launchroom.models import MembershipRole
from launchroom.readiness.words import SYSTEM_ACTOR, actor_title
from tests.factories import BillingProfileFactory, TenantFactory, member, staff_user

pytestmark = pytest.mark.django_db

API = "/api/platform/tenants/{}/transitions"


@pytest.fixture
def tenant_with_changes():  # type: ignore[no-untyped-def]
    """Finance sets the terms, the buyer sponsor accepts the fallback, finance changes the terms."""
    profile = BillingProfileFactory(tenant=TenantFactory(slug="acme", name="Acme Health"))
    tenant = profile.tenant
    finance = staff_user(Role.FINANCE)
    billing_profile_save(tenant=tenant, by=finance, plan="Pilot")
    billing_fallback_accept(profile=profile, by=member(tenant), name="Bea Buyer")
    billing_profile_save(tenant=tenant, by=finance, renewal_terms="Renews yearly, 60 days' notice.")
    return tenant


def test_it_answers_a_buyer_in_the_rooms_words(client, tenant_with_changes):
    client.force_login(member(tenant_with_changes, MembershipRole.VIEWER))
    rows = client.get(API.format("acme")).json()["transitions"]
    by_cause = {row["cause"]: row["actor"] for row in rows}
    assert by_cause["The billing terms were updated"] == "Thesmios finance owner"
    assert by_cause["Your side accepted the manual billing fallback"] == "Buyer sponsor"
    assert all(row["headline"] for row in rows)
    text = str(rows)
    for internal in ("finance'", "billing_profile_save", "billing_fallback_accept", "terms changed", "buyer-acme"):
        assert internal not in text
    assert "cause_kind" not in rows[0]


def test_it_answers_staff_with_the_stored_cause_and_username(client, tenant_with_changes):
    client.force_login(staff_user(Role.SUPPORT))
    rows = client.get(API.format("acme")).json()["transitions"]
    assert rows[0]["actor"] == "finance"
    assert rows[0]["cause"] == "billing_profile_save: terms changed"
    assert rows[0]["cause_kind"] == "billing_profile_save"
    assert {"actor": "buyer-acme", "cause_kind": "billing_fallback_accept"}.items() <= next(
        row for row in rows if row["cause_kind"] == "billing_fallback_accept"
    ).items()


def test_it_names_no_person_when_time_or_the_system_acted():
    assert actor_title(None, None) == SYSTEM_ACTOR
    assert actor_title(TenantFactory().commercial_owner, None) == "Thesmios commercial owner"
