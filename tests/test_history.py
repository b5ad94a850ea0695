"""Every model keeps an audit history, and changes made in the admin name the acting user."""

import pytest
from django.apps import apps

from launchroom import demo
from launchroom.models import LaunchStage, SupportPlan, Tenant
from tests.launch_helpers import like_demo

pytestmark = pytest.mark.django_db

OUR_APPS = ["launchroom", "billing", "evidence"]


DERIVED = {"TenantReadiness", "OutboundEmail", "Notification", "ScheduledRun"}


def test_it_gives_every_model_a_history():
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            assert model.__doc__ and not model.__doc__.startswith(model.__name__ + "("), model.__name__
            assert model._meta.ordering, f"{model.__name__} has no ordering"
            if model.__name__ in DERIVED:
                continue  # derived rows (STYLE.md convention 5): no history, bulk writes allowed
            assert hasattr(model, "history"), f"{model.__name__} has no HistoricalRecords"
            assert model.__doc__ and not model.__doc__.startswith(model.__name__ + "("), model.__name__
            assert model._meta.ordering, f"{model.__name__} has no ordering"


def test_it_records_the_admin_user_on_a_tenant_change(client, staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    client.force_login(staff["commercial"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/change/",
        {
            "name": "Acme Industries",
            "slug": "acme",
            "commercial_owner": staff["commercial"].pk,
            "regulated_buyer": "on",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
            "order_forms-TOTAL_FORMS": 0,
            "order_forms-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    latest = Tenant.history.filter(id=tenant.pk).latest()
    assert (latest.name, latest.regulated_buyer, latest.history_user) == ("Acme Industries", True, staff["commercial"])
    assert latest.history_type == "~"


def test_it_records_the_admin_user_on_a_stage_move(client, staff):
    tenant = like_demo("globex")
    client.force_login(staff["operator"])
    response = client.post(
        f"/admin/launchroom/tenant/{tenant.pk}/move-stage/",
        {"apply": "1", "to_stage": "paused", "reason": "Customer asked to pause over the holidays."},
    )
    assert response.status_code == 302
    latest = Tenant.history.filter(id=tenant.pk).latest()
    assert (latest.stage, latest.history_user) == ("paused", staff["operator"])


def test_it_records_history_of_records_made_by_services(staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    plan = demo.support_plan(tenant, staff)
    order_form = demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PRIVATE_BETA)
    assert SupportPlan.history.filter(id=plan.pk).count() == 1
    assert [h.status for h in order_form.history.order_by("history_date")] == ["draft", "signed"]
