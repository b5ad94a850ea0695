"""Staff pages answer bad URLs and filters with 400/404, never 500."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.test import Client
from simple_history.admin import SimpleHistoryAdmin

from core.admin import model_admins
from tests.factories import ready_tenant

pytestmark = pytest.mark.django_db

OUR_APPS = ("launchroom", "billing", "evidence")


def every_admin() -> list[tuple[str, Any]]:
    """Each model the admin site registers, as ``app/model``, with its ModelAdmin."""
    return sorted(
        (f"{model._meta.app_label}/{model._meta.model_name}", model_admin)
        for model, model_admin in model_admins(admin.site)
    )


def our_admins() -> list[tuple[str, Any]]:
    return [(label, model_admin) for label, model_admin in every_admin() if label.split("/")[0] in OUR_APPS]


def filter_parameters(model_admin: Any) -> list[str]:
    names = ["q"]
    for entry in model_admin.list_filter:
        if isinstance(entry, str):
            names += [entry, f"{entry}__exact"]
        elif isinstance(entry, tuple):
            names += [entry[0], f"{entry[0]}__exact"]
        else:
            names.append(entry.parameter_name)
    return names


@pytest.fixture
def operator(client: Client, staff: dict[str, Any]) -> Client:
    """The operator's admin, with a tenant signed for paid beta and moved into it."""
    ready_tenant("globex", sign_for="paid_beta", live=True)
    client.force_login(staff["operator"])
    return client


@pytest.mark.parametrize("bad", ["%00", "a%00b", "%07", "%ED%A0%80"])
def test_it_answers_400_to_a_filter_no_record_can_match(operator: Client, bad: str) -> None:
    labels = [label for label, _ in every_admin()]
    assert {"auth/user", "auth/group", "axes/accessattempt"} <= set(labels)
    for label, model_admin in every_admin():
        for name in filter_parameters(model_admin):
            response = operator.get(f"/admin/{label}/?{name}={bad}")
            # A surrogate's bytes decode to U+FFFD, a plain character: then the list just shows.
            expected = (200, 302) if bad == "%ED%A0%80" else (400,)
            assert response.status_code in expected, (label, name, response.status_code)


@pytest.mark.parametrize("name", ["gate", "kind", "stage"])
def test_it_answers_400_to_a_nul_in_the_named_filters(operator: Client, name: str) -> None:
    labels = {"gate": "launchroom/gatedecision", "kind": "launchroom/decisionlogentry", "stage": "launchroom/tenant"}
    assert operator.get(f"/admin/{labels[name]}/?{name}=%00").status_code == 400


@pytest.mark.parametrize("object_id", ["abc", "1x", "%00", quote("1 OR 1=1"), "99999999999999999999999"])
def test_it_answers_404_to_a_history_page_of_no_possible_record(operator: Client, object_id: str) -> None:
    checked = 0
    for label, model_admin in our_admins():
        if not isinstance(model_admin, SimpleHistoryAdmin):
            continue
        response = operator.get(f"/admin/{label}/{object_id}/history/")
        assert response.status_code == 404, (label, response.status_code)
        response = operator.get(f"/admin/{label}/1/history/{object_id}/")
        assert response.status_code == 404, (label, response.status_code)
        checked += 1
    assert checked >= 10


def test_it_still_shows_history_of_a_real_record(operator: Client) -> None:
    from launchroom.models import Tenant

    tenant = Tenant.objects.get(slug="globex")
    assert operator.get(f"/admin/launchroom/tenant/{tenant.pk}/history/").status_code == 200
    version = tenant.history.first()
    assert operator.get(f"/admin/launchroom/tenant/{tenant.pk}/history/{version.history_id}/").status_code == 200
    assert operator.get("/admin/launchroom/tenant/?stage=paid_beta&q=glob").status_code == 200


def test_it_answers_a_future_dated_incident_notice_with_a_form_error(client: Client, staff: dict[str, Any]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from launchroom import demo
    from launchroom.models import Incident, IncidentNotice, Tenant

    tenant = Tenant.objects.create(slug="acme", name="Acme Health")
    demo.support_plan(tenant, staff)
    client.force_login(staff["support"])
    future = timezone.localtime() + timedelta(days=2)
    form = {
        "tenant": tenant.pk,
        "severity": "sev1",
        "summary": "Launch room down",
        "customer_impact": "Buyers see an error page.",
        "notices-TOTAL_FORMS": "1",
        "notices-INITIAL_FORMS": "0",
        "notices-0-recipient": "Sponsor",
        "notices-0-channel": "Phone",
        "notices-0-sent_at_0": future.strftime("%Y-%m-%d"),
        "notices-0-sent_at_1": future.strftime("%H:%M:%S"),
        "notices-0-text": "We know; fixing.",
    }
    response = client.post("/admin/launchroom/incident/add/", form)
    assert response.status_code == 200
    assert "A notice cannot be recorded as sent in the future." in response.content.decode()
    assert not Incident.objects.exists()

    incident = Incident.objects.create(
        tenant=tenant, severity="sev2", summary="Slow", customer_impact="Slow pages.", opened_at=timezone.now()
    )
    response = client.post(
        f"/admin/launchroom/incident/{incident.pk}/change/",
        {k: v for k, v in form.items() if k.startswith("notices-")},
    )
    assert response.status_code == 200
    assert "A notice cannot be recorded as sent in the future." in response.content.decode()
    assert not IncidentNotice.objects.exists()


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize("length", [151, 256, 300, 5000])
def test_it_answers_an_over_long_login_username_with_a_form_error(
    staff: dict[str, Any], path: str, length: int
) -> None:
    from axes.models import AccessAttempt

    client = Client()
    response = client.post(path, {"username": "u" * length, "password": "wrong"}, secure=True)
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.filter(username__startswith="uuu").exists()
    assert client.post(path, {"username": "operator", "password": "demo"}, secure=True).status_code == 302


@pytest.mark.postgres
def test_it_answers_a_256_character_login_username_without_a_500_on_postgresql(staff: dict[str, Any]) -> None:
    for path in ("/accounts/login/", "/admin/login/"):
        response = Client().post(path, {"username": "u" * 256, "password": "wrong"}, secure=True)
        assert response.status_code == 200
