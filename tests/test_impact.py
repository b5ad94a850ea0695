"""Impact before saving (SPEC section 10): a staff change that would move a tenant's decision
or a gate's status answers a confirmation page first; confirming saves; no change saves directly."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import BillingProfile
from launchroom.gates.impact import preview
from launchroom.gates.readiness import evaluate
from launchroom.gates.selectors import load
from launchroom.models import TenantReadiness
from tests.launch_helpers import build, prebuild

pytestmark = pytest.mark.django_db

_demo_tenants = prebuild("globex", "contoso")


def as_user(client: Any, user: Any) -> Any:
    client.force_login(user)
    return client


def billing_post(profile: BillingProfile, **changes: Any) -> dict[str, Any]:
    data = {name: getattr(profile, name) for name in BillingProfile.TERMS_FIELDS}
    data = {name: "" if value is None else value for name, value in data.items()}
    data["tenant"] = profile.tenant_id
    data.update(changes)
    return data


def decision(tenant: Any) -> str:
    return evaluate(load(tenant, with_output=False)).decision


# The mechanism ---------------------------------------------------------------------------


def test_it_previews_the_real_service_and_saves_nothing(staff):
    from billing.services import billing_profile_save

    globex = build("globex", staff)
    profile = BillingProfile.objects.get(tenant=globex)
    history = profile.history.count()
    readiness_row = TenantReadiness.objects.filter(tenant=globex).values_list("decision", flat=True).first()

    impact = preview(globex, lambda: billing_profile_save(tenant=globex, by=staff["finance"], seat_cap=999))

    assert impact.changed
    assert (impact.before, impact.after) == ("go", "hold")
    assert [(g.number, g.before, g.after) for g in impact.gates] == [(4, "accepted", "missing")]
    sentence = impact.sentence()
    assert sentence.startswith("Saving will move Globex Corporation from Go to Hold for paid beta: gate 4 (")
    assert "goes from Accepted to Missing and will need the buyer to accept the manual billing fallback" in sentence
    profile.refresh_from_db()
    assert profile.seat_cap != 999
    assert profile.history.count() == history
    assert TenantReadiness.objects.filter(tenant=globex).values_list("decision", flat=True).first() == readiness_row
    assert decision(globex) == "go"


def test_it_says_nothing_changes_when_nothing_does(staff):
    from billing.services import billing_profile_save

    globex = build("globex", staff)
    profile = BillingProfile.objects.get(tenant=globex)
    impact = preview(globex, lambda: billing_profile_save(tenant=globex, by=staff["finance"], plan=profile.plan))
    assert not impact.changed
    assert impact.gates == []


# Billing terms in the billing profile admin ---------------------------------------------


def test_it_confirms_a_billing_change_before_saving_it(client, staff):
    globex = build("globex", staff)
    profile = BillingProfile.objects.get(tenant=globex)
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    data = billing_post(profile, seat_cap=999, _save="Save")
    finance = as_user(client, staff["finance"])

    first = finance.post(url, data)
    assert first.status_code == 200
    page = first.content.decode()
    assert "Saving will move Globex Corporation from Go to Hold for paid beta" in page
    assert 'name="confirm"' in page
    assert f'href="{url}"' in page  # cancel returns to the unchanged form
    profile.refresh_from_db()
    assert profile.seat_cap != 999
    assert decision(globex) == "go"

    second = finance.post(url, {**data, "confirm": "Save anyway"})
    assert second.status_code == 302
    profile.refresh_from_db()
    assert profile.seat_cap == 999
    assert decision(globex) == "hold"


def test_it_saves_a_billing_change_that_moves_nothing_directly(client, staff):
    contoso = build("contoso", staff)
    profile = BillingProfile.objects.get(tenant=contoso)
    # Contoso's fallback is accepted; a change without a term change (route the same) moves nothing.
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    response = as_user(client, staff["finance"]).post(url, billing_post(profile, _save="Save"))
    assert response.status_code == 302
