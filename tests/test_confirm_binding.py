"""A confirmation is bound to what was previewed (docs/RULES.md section 11): the confirmation
page carries a signed token over the page, the object, the posted values and the readiness
it showed. A ``confirm`` without it, with another object's or page's token, with a value
edited since, or after the readiness changed, is shown the preview again and saves nothing;
the honest path (preview, then confirm) saves once."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import signing
from django.utils import timezone

from billing.models import BillingProfile
from core.confirm import MAX_AGE, NOTICE, TOKEN
from evidence.models import EvidenceAttachment
from launchroom.models import GateDecision, OrderForm, Tenant
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from tests.confirming import confirm_post, token_of
from tests.launch_helpers import like_demo, stale_proof_plan
from tests.test_write_services import tenant_page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_content_types() -> None:
    # A transactional test earlier on this worker flushes and recreates the content types with
    # new ids; the admin's change log would write a stale cached id.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


def decision(tenant: Any) -> str:
    return evaluate(load(tenant, with_output=False)).decision


def billing_post(profile: BillingProfile, **changes: Any) -> dict[str, Any]:
    data = {name: getattr(profile, name) for name in BillingProfile.TERMS_FIELDS}
    data = {name: "" if value is None else value for name, value in data.items()}
    return {**data, "tenant": profile.tenant_id, "_save": "Save", **changes}


@dataclass
class Page:
    """One confirmation page: who posts what where, how many times the change was saved, and
    a value to edit inside the replayed form."""

    user: Any
    url: str
    data: dict[str, Any]
    saved: Callable[[], int]
    edit: dict[str, Any]


def billing_page(staff: Any) -> Page:
    profile = BillingProfile.objects.get(tenant=like_demo("globex"))
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    data = billing_post(profile, seat_cap=999)
    return Page(staff["finance"], url, data, profile.history.count, {"renewal_terms": "Renews for ten years."})


def tenant_change_page(staff: Any) -> Page:
    initech = like_demo("initech")
    data = tenant_page(initech, issuer_fixture_configured="on", _save="Save")
    url = f"/admin/launchroom/tenant/{initech.pk}/change/"
    return Page(staff["commercial"], url, data, initech.history.count, {"name": "Initech Renamed"})


def decide_page(staff: Any) -> Page:
    globex = like_demo("globex")
    url = f"/admin/launchroom/tenant/{globex.pk}/decide/"
    data = {"apply": "1", "gate_key": "public-deployment", "decision": "rejected", "note": "The URL is wrong."}
    saved = GateDecision.objects.filter(tenant=globex).count
    return Page(staff["operator"], url, data, saved, {"decision": "reopened"})


def evidence_page(staff: Any) -> Page:
    tenant = stale_proof_plan(staff)
    now = timezone.localtime()
    data = {
        "tenant": tenant.pk,
        "requirement": "strict-proof-plan/production-proof-smoke",
        "output": "production-proof smoke: all checks passed",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    saved = EvidenceAttachment.objects.filter(tenant=tenant).count
    url = "/admin/evidence/evidenceattachment/add/"
    return Page(staff["operator"], url, data, saved, {"output": "production-proof smoke: edited"})


def signature_page(staff: Any, *, action: bool = False) -> Page:
    from launchroom.orderforms.services import order_form_revise

    globex = like_demo("globex")
    signed = OrderForm.objects.filter(tenant=globex).order_by("-version").first()
    draft = order_form_revise(order_form=signed, by=staff["commercial"])
    data = {"approval_reference": "PO-GLOBEX-2", "signer_name": "Pat Procurement", "apply": "1"}
    url = f"/admin/launchroom/orderform/{draft.pk}/sign/"
    if action:
        url, data = "/admin/launchroom/orderform/", {**data, "action": "sign", "_selected_action": [draft.pk]}
    saved = OrderForm.objects.filter(tenant=globex, status="signed").count
    return Page(staff["commercial"], url, data, saved, {"approval_reference": "PO-EDITED"})


def broadcast_page(staff: Any) -> Page:
    from launchroom import demo

    tenant = demo.new_tenant("acme", "Acme Health", staff)
    plan = demo.support_plan(tenant, staff)
    data = {"action": "status_broadcast", "_selected_action": [plan.pk]}
    saved = EvidenceAttachment.objects.filter(tenant=tenant, gate_key="support-fallback").count
    return Page(staff["support"], "/admin/launchroom/supportplan/", data, saved, {"select_across": "1"})


PAGES = {
    "billing profile": billing_page,
    "tenant page": tenant_change_page,
    "gate decision": decide_page,
    "evidence replacement": evidence_page,
    "order-form signature": signature_page,
    "order-form signature action": lambda staff: signature_page(staff, action=True),
    "status broadcast": broadcast_page,
}


@pytest.fixture(params=list(PAGES))
def page(request: Any, staff: Any, client: Any) -> Page:
    built = PAGES[request.param](staff)
    client.force_login(built.user)
    return built


def preview_of(client: Any, page: Page, data: dict[str, Any] | None = None) -> Any:
    response = client.post(page.url, page.data if data is None else data)
    assert response.status_code == 200, response.content.decode()[:2000]
    assert 'name="confirm"' in response.content.decode()  # the confirmation page
    return response


def test_it_saves_once_after_the_preview(client: Any, page: Page) -> None:
    before = page.saved()
    first = preview_of(client, page)
    assert page.saved() == before
    assert NOTICE not in first.content.decode() and token_of(first)

    second = client.post(page.url, confirm_post(first))

    assert second.status_code == 302, second.content.decode()[:2000]
    assert page.saved() == before + 1


@pytest.mark.parametrize("token", [None, "eyJ4IjoxfQ:1tZ:forged"])
def test_a_first_post_carrying_confirm_shows_the_preview(client: Any, page: Page, token: str | None) -> None:
    before = page.saved()
    data = {**page.data, "confirm": "Save anyway", **({} if token is None else {TOKEN: token})}

    response = client.post(page.url, data)

    assert page.saved() == before
    assert response.status_code == 200 and NOTICE in response.content.decode()
    assert token_of(response)


def test_a_value_edited_in_the_replayed_form_shows_the_preview_again(client: Any, page: Page) -> None:
    before = page.saved()
    replayed = {**confirm_post(preview_of(client, page)), **page.edit}

    response = client.post(page.url, replayed)

    assert page.saved() == before
    assert response.status_code == 200 and NOTICE in response.content.decode()
    # The page shown again confirms the edited change, and only that.
    assert client.post(page.url, confirm_post(response)).status_code == 302
    assert page.saved() == before + 1


def test_an_expired_confirmation_shows_the_preview_again(client: Any, staff: Any) -> None:
    page = billing_page(staff)
    client.force_login(page.user)
    first = preview_of(client, page)
    salt = f"core.confirm:{first.wsgi_request.resolver_match.view_name}"
    payload = signing.loads(token_of(first)[TOKEN], salt=salt)

    class AnHourAgo(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - MAX_AGE - 60)

    before = page.saved()
    stale = {**confirm_post(first), TOKEN: AnHourAgo(salt=salt).sign_object(payload)}

    response = client.post(page.url, stale)

    assert page.saved() == before
    assert response.status_code == 200 and NOTICE in response.content.decode()


# The attacks, one by one ---------------------------------------------------------


def test_one_profiles_confirmation_posted_to_another_profile_saves_nothing(client: Any, staff: Any) -> None:
    contoso, globex = like_demo("contoso"), like_demo("globex")
    mine = BillingProfile.objects.get(tenant=contoso)
    theirs = BillingProfile.objects.get(tenant=globex)
    client.force_login(staff["finance"])
    url = f"/admin/billing/billingprofile/{mine.pk}/change/"
    first = client.post(url, billing_post(mine, seat_cap=999, renewal_terms="Renews monthly."))
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    terms = {name: getattr(theirs, name) for name in BillingProfile.TERMS_FIELDS}

    response = client.post(f"/admin/billing/billingprofile/{theirs.pk}/change/", confirm_post(first))

    theirs.refresh_from_db()
    assert {name: getattr(theirs, name) for name in BillingProfile.TERMS_FIELDS} == terms
    assert decision(globex) == "go"
    assert response.status_code == 200 and NOTICE in response.content.decode()


def test_one_tenants_reject_confirmation_posted_to_another_decide_page_saves_nothing(client: Any, staff: Any) -> None:
    globex, initech = like_demo("globex"), like_demo("initech")
    client.force_login(staff["operator"])
    data = {"apply": "1", "gate_key": "public-deployment", "decision": "rejected", "note": "The URL is wrong."}
    first = client.post(f"/admin/launchroom/tenant/{globex.pk}/decide/", data)
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    count = GateDecision.objects.filter(tenant=initech).count()

    response = client.post(f"/admin/launchroom/tenant/{initech.pk}/decide/", confirm_post(first))

    assert GateDecision.objects.filter(tenant=initech).count() == count
    assert response.status_code == 200 and NOTICE in response.content.decode()


def test_a_confirmation_of_another_page_saves_nothing(client: Any, staff: Any) -> None:
    # A billing page's token, posted with a change to a tenant page.
    globex, initech = like_demo("globex"), like_demo("initech")
    profile = BillingProfile.objects.get(tenant=globex)
    client.force_login(staff["finance"])
    first = client.post(f"/admin/billing/billingprofile/{profile.pk}/change/", billing_post(profile, seat_cap=999))
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    client.force_login(staff["commercial"])
    change = tenant_page(initech, issuer_fixture_configured="on", _save="Save")
    history = initech.history.count()

    token = confirm_post(first).get(TOKEN, [""])[0]

    response = client.post(f"/admin/launchroom/tenant/{initech.pk}/change/", {**change, TOKEN: token, "confirm": "1"})

    assert initech.history.count() == history
    assert not Tenant.objects.get(pk=initech.pk).issuer_fixture_configured
    assert response.status_code == 200 and NOTICE in response.content.decode()


def test_a_confirmation_shown_to_someone_else_saves_nothing(client: Any, staff: Any) -> None:
    # The operator (a superuser) previews a billing change; the finance owner posts its confirmation.
    globex = like_demo("globex")
    profile = BillingProfile.objects.get(tenant=globex)
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    client.force_login(staff["operator"])
    first = client.post(url, billing_post(profile, seat_cap=999))
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    history = profile.history.count()
    client.force_login(staff["finance"])

    response = client.post(url, confirm_post(first))

    assert profile.history.count() == history
    assert response.status_code == 200 and NOTICE in response.content.decode()


def test_a_confirmation_after_the_readiness_changed_shows_the_preview_again(client: Any, staff: Any) -> None:
    from launchroom.readiness.services import gate_decide

    globex = like_demo("globex")
    profile = BillingProfile.objects.get(tenant=globex)
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    client.force_login(staff["finance"])
    first = client.post(url, billing_post(profile, seat_cap=999))
    assert first.status_code == 200 and 'name="confirm"' in first.content.decode()
    # Meanwhile an operator rejects gate 1: the preview no longer says what saving does.
    gate_decide(
        tenant=globex, gate_key="public-deployment", decision="rejected", note="Wrong URL.", by=staff["operator"]
    )
    history = profile.history.count()

    again = client.post(url, confirm_post(first))

    assert profile.history.count() == history
    assert again.status_code == 200 and NOTICE in again.content.decode()
    assert client.post(url, confirm_post(again)).status_code == 302
    profile.refresh_from_db()
    assert profile.seat_cap == 999


@pytest.mark.parametrize("selected", ["", "x", "\x00", "1e309", str(2**70), "-1"])
@pytest.mark.parametrize(
    ("user", "changelist", "action"),
    [
        ("support", "/admin/launchroom/supportplan/", "status_broadcast"),  # a confirmation page
        ("operator", "/admin/auth/user/", "delete_selected"),  # a package's admin (guard_changelists)
    ],
)
def test_an_action_for_rows_that_cannot_exist_answers_400(
    client: Any, staff: Any, user: str, changelist: str, action: str, selected: str
) -> None:
    # Found by tests/test_fuzz.py: Django filters the changelist on the posted rows as they come.
    client.force_login(staff[user])
    data = {"action": action, "_selected_action": [selected], "confirm": "1"}
    assert client.post(changelist, data).status_code == 400
