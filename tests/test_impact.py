"""Impact before saving (docs/RULES.md section 11): a staff change that would move a tenant's decision
or a gate's status answers a confirmation page first; confirming saves; no change saves directly."""

from __future__ import annotations

from typing import Any

import pytest

from billing.models import BillingProfile
from launchroom.impact.preview import preview
from launchroom.models import TenantReadiness
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.selectors import load
from tests.confirming import token_of
from tests.launch_helpers import like_demo, stale_proof_plan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_content_types() -> None:
    # A transactional test earlier on this worker flushes and recreates the content types with
    # new ids; the admin's change log would write a stale cached id.
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


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

    globex = like_demo("globex")
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

    globex = like_demo("globex")
    profile = BillingProfile.objects.get(tenant=globex)
    impact = preview(globex, lambda: billing_profile_save(tenant=globex, by=staff["finance"], plan=profile.plan))
    assert not impact.changed
    assert impact.gates == []


def test_it_starts_from_the_stored_row_while_valid_and_from_a_fresh_evaluation_after(staff):
    """The "before" of a preview is the stored readiness while it is valid (one query instead
    of a load), and the same as a fresh evaluation; a row past its valid-until is not trusted."""
    from datetime import timedelta

    from django.utils import timezone

    from launchroom.impact.preview import Before, before_change

    tenants = {slug: like_demo(slug) for slug in ("globex", "contoso", "initech")}
    for tenant in tenants.values():
        assert before_change(tenant) == Before.of(evaluate(load(tenant, with_output=False)))

    globex = tenants["globex"]
    fresh = Before.of(evaluate(load(globex, with_output=False)))
    # A row that (wrongly) says hold: trusted while valid, which shows the row is what is read...
    TenantReadiness.objects.filter(tenant=globex).update(decision="hold")
    assert before_change(globex).decision == "hold"
    # ...and not once time could have changed it: then the tenant is evaluated afresh.
    TenantReadiness.objects.filter(tenant=globex).update(valid_until=timezone.now() - timedelta(seconds=1))
    assert before_change(globex) == fresh
    TenantReadiness.objects.filter(tenant=globex).delete()
    assert before_change(globex) == fresh


# Billing terms in the billing profile admin ---------------------------------------------


def test_it_confirms_a_billing_change_before_saving_it(client, staff):
    globex = like_demo("globex")
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

    second = finance.post(url, {**data, **token_of(first), "confirm": "Save anyway"})
    assert second.status_code == 302
    profile.refresh_from_db()
    assert profile.seat_cap == 999
    assert decision(globex) == "hold"


def test_it_saves_a_billing_change_that_moves_nothing_directly(client, staff):
    contoso = like_demo("contoso")
    profile = BillingProfile.objects.get(tenant=contoso)
    # Contoso's fallback is accepted; a change without a term change (route the same) moves nothing.
    url = f"/admin/billing/billingprofile/{profile.pk}/change/"
    response = as_user(client, staff["finance"]).post(url, billing_post(profile, _save="Save"))
    assert response.status_code == 302


# Tenant flags on the tenant admin page --------------------------------------------------


def tenant_page(tenant: Any, **fields: Any) -> dict[str, Any]:
    from tests.test_write_services import tenant_page as page

    return page(tenant, **fields)


def test_it_confirms_a_flag_that_moves_a_gate(client, staff):
    from launchroom.models import Tenant

    # Initech's capabilities are not configured: saying the issuer fixture is configured makes
    # its (absent) output a requirement of gate 6.
    initech = like_demo("initech")
    url = f"/admin/launchroom/tenant/{initech.pk}/change/"
    commercial = as_user(client, staff["commercial"])
    data = tenant_page(initech, issuer_fixture_configured="on", _save="Save")

    first = commercial.post(url, data)
    page = first.content.decode()
    assert first.status_code == 200
    assert "Saving will keep Initech at Hold for paid beta, but: gate 6 (" in page
    assert 'name="confirm"' in page
    assert not Tenant.objects.get(pk=initech.pk).issuer_fixture_configured

    second = commercial.post(url, {**data, **token_of(first), "confirm": "Save anyway"})
    assert second.status_code == 302
    assert Tenant.objects.get(pk=initech.pk).issuer_fixture_configured


def test_it_saves_a_name_change_directly(client, staff):
    from launchroom.models import Tenant

    contoso = like_demo("contoso")
    url = f"/admin/launchroom/tenant/{contoso.pk}/change/"
    response = as_user(client, staff["commercial"]).post(url, tenant_page(contoso, name="Contoso Care", _save="Save"))
    assert response.status_code == 302
    assert Tenant.objects.get(pk=contoso.pk).name == "Contoso Care"


# Rejecting or reopening a gate ----------------------------------------------------------


def test_it_confirms_a_rejection_that_takes_the_go_away(client, staff):
    from launchroom.models import GateDecision

    globex = like_demo("globex")
    url = f"/admin/launchroom/tenant/{globex.pk}/decide/"
    data = {"apply": "1", "gate_key": "public-deployment", "decision": "rejected", "note": "The URL is wrong."}
    operator = as_user(client, staff["operator"])
    count = GateDecision.objects.count()

    first = operator.post(url, data)
    page = first.content.decode()
    assert first.status_code == 200
    assert "Saving will move Globex Corporation from Go to Hold for paid beta: gate 1 (" in page
    assert "goes from Accepted to Rejected" in page
    assert GateDecision.objects.count() == count

    second = operator.post(url, {**data, **token_of(first), "confirm": "Save anyway"})
    assert second.status_code == 302
    assert GateDecision.objects.count() == count + 1
    assert decision(globex) == "hold"

    # Rejecting it again moves nothing: saved directly.
    third = operator.post(url, {**data, "note": "Still wrong."})
    assert third.status_code == 302
    assert GateDecision.objects.count() == count + 2


# Order-form signing ---------------------------------------------------------------------


def test_it_confirms_signing_a_new_version_that_leaves_the_acceptance_stale(client, staff):
    from launchroom.models import OrderForm
    from launchroom.orderforms.services import order_form_revise

    globex = like_demo("globex")
    signed = OrderForm.objects.filter(tenant=globex).order_by("-version").first()
    draft = order_form_revise(order_form=signed, by=staff["commercial"])
    url = f"/admin/launchroom/orderform/{draft.pk}/sign/"
    data = {"approval_reference": "PO-GLOBEX-2", "signer_name": "Pat Procurement", "apply": "1"}
    commercial = as_user(client, staff["commercial"])

    first = commercial.post(url, data)
    page = first.content.decode()
    assert first.status_code == 200
    assert "Recording this signature will move Globex Corporation from Go to Hold for paid beta" in page
    assert "goes from Accepted to Stale" in page
    draft.refresh_from_db()
    assert not draft.is_signed

    second = commercial.post(url, {**data, **token_of(first), "confirm": "Record the signature anyway"})
    assert second.status_code == 302
    draft.refresh_from_db()
    assert draft.is_signed
    assert decision(globex) == "hold"


# Evidence replacement -------------------------------------------------------------------


def test_it_confirms_an_evidence_replacement_and_keeps_the_upload_until_confirmed(client, staff, tmp_path, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from evidence.models import EvidenceAttachment

    settings.MEDIA_ROOT = tmp_path
    tenant = stale_proof_plan(staff)
    assert evaluate(load(tenant, with_output=False)).gate("strict-proof-plan").status == "stale"
    url = "/admin/evidence/evidenceattachment/add/"
    now = timezone.localtime()
    data = {
        "tenant": tenant.pk,
        "requirement": "strict-proof-plan/production-proof-smoke",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "note": "fresh run",
        "_save": "Save",
    }
    operator = as_user(client, staff["operator"])
    count = EvidenceAttachment.objects.count()
    body = b'{"checks": [{"name": "production-proof", "ok": true}]}'

    first = operator.post(url, {**data, "file": SimpleUploadedFile("smoke.json", body, "application/json")})
    page = first.content.decode()
    assert first.status_code == 200, page[:3000]
    assert "Saving will keep Acme Health at Hold for private beta, but: gate 2 (" in page
    assert "goes from Stale to Ready for review" in page
    assert EvidenceAttachment.objects.count() == count
    # Only the stashed upload waits in the media store; the previewed attachment's file is gone.
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.parent.name for p in stored] == ["evidence-pending"]
    token = first.context["replay"][-1]
    assert token[0] == "pending_file"

    second = operator.post(url, {**data, "pending_file": token[1], **token_of(first), "confirm": "Save anyway"})
    assert second.status_code == 302, second.content.decode()[:3000]
    attachment = EvidenceAttachment.objects.latest("id")
    assert attachment.original_name == "smoke.json"
    assert attachment.size == len(body)
    assert evaluate(load(tenant, with_output=False)).gate("strict-proof-plan").status == "ready_for_review"
    assert not any(p.parent.name == "evidence-pending" for p in tmp_path.rglob("*") if p.is_file())


def test_it_attaches_evidence_that_moves_nothing_directly(client, staff):
    from django.utils import timezone

    from evidence.models import EvidenceAttachment

    globex = like_demo("globex")
    now = timezone.localtime()
    data = {
        "tenant": globex.pk,
        "requirement": "public-deployment/deployment-url",
        "url": "https://globex.example/launch",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    count = EvidenceAttachment.objects.count()
    response = as_user(client, staff["operator"]).post("/admin/evidence/evidenceattachment/add/", data)
    assert response.status_code == 302
    assert EvidenceAttachment.objects.count() == count + 1


# A broadcast dry run that replaces gate 7's evidence ------------------------------------


def test_it_shows_what_a_broadcast_dry_run_would_change_and_runs_it_on_confirm(client, staff, mailoutbox):
    from django.urls import reverse

    from evidence.models import EvidenceAttachment
    from launchroom import demo

    tenant = demo.new_tenant("acme", "Acme Health", staff)
    plan = demo.support_plan(tenant, staff)
    changelist = reverse("admin:launchroom_supportplan_changelist")
    support = as_user(client, staff["support"])

    first = support.post(changelist, {"action": "status_broadcast", "_selected_action": [plan.pk]})
    page = first.content.decode()
    assert "Running this dry run will keep Acme Health at Hold for private beta, but: gate 7 (" in page
    assert 'name="confirm"' in page
    assert not EvidenceAttachment.objects.filter(tenant=tenant).exists()
    assert not mailoutbox  # the preview wrote no e-mail

    confirm = {"action": "status_broadcast", "_selected_action": [plan.pk], **token_of(first), "confirm": "1"}
    second = support.post(changelist, confirm)
    assert second.status_code == 302
    assert EvidenceAttachment.objects.filter(tenant=tenant, gate_key="support-fallback").count() == 1


def test_a_large_upload_replacing_evidence_saves_after_its_preview(client, staff, tmp_path, settings):
    """An upload big enough to stream to a temporary file (as every 25 MiB proof does) is
    previewed from a copy: the real save that follows still has it (it was a 500)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from evidence.models import EvidenceAttachment

    settings.MEDIA_ROOT = tmp_path
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload goes to a temporary file
    globex = like_demo("globex")
    now = timezone.localtime()
    body = b'{"checks": [{"name": "launch", "ok": true}]}' + b" " * 4096
    data = {
        "tenant": globex.pk,
        "requirement": "public-deployment/launch-smoke",
        "captured_at_0": now.strftime("%Y-%m-%d"),
        "captured_at_1": now.strftime("%H:%M:%S"),
        "note": "re-run",
        "_save": "Save",
        "file": SimpleUploadedFile("launch-smoke.json", body, "application/json"),
    }
    count = EvidenceAttachment.objects.count()
    response = as_user(client, staff["operator"]).post("/admin/evidence/evidenceattachment/add/", data)
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    if response.status_code == 200:  # the replacement moves readiness: confirm it
        token = response.context["replay"][-1]
        data.pop("file")
        response = as_user(client, staff["operator"]).post(
            "/admin/evidence/evidenceattachment/add/",
            {**data, token[0]: token[1], **token_of(response), "confirm": "Save anyway"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert EvidenceAttachment.objects.count() == count + 1
    assert EvidenceAttachment.objects.latest("id").size == len(body)
