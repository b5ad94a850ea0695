"""The admin's autocomplete fields answer a form error for any value no key can be, on every
admin that has them: the widget redraws only values its field could hold (it looked the value
up in the database to redraw it, and 'NaN', '1e309', '0x10' or a NUL failed there with a 500)."""

from __future__ import annotations

import pytest
from django.contrib import admin

from core.admin import CheckedAutocompleteSelect, model_admins
from launchroom.catalog import Role
from launchroom.models import Comment, Incident
from tests.factories import OrderFormFactory, TenantFactory, staff_user

pytestmark = pytest.mark.django_db

INVALID = ["NaN", "1e309", "0x10", "\x00", "-1", "99999999999999999999999", "1.5"]


@pytest.mark.parametrize("value", INVALID)
@pytest.mark.parametrize("field", ["tenant", "order_form"])
def test_it_answers_a_form_error_on_the_comment_add_form(client, value, field):
    tenant = TenantFactory()
    order_form = OrderFormFactory(tenant=tenant)
    client.force_login(staff_user(Role.OPERATOR))  # a superuser: no role's group adds comments here
    data = {"tenant": tenant.pk, "order_form": order_form.pk, "gate_key": "", "body": "A question"}
    data[field] = value
    response = client.post("/admin/launchroom/comment/add/", data)
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize("value", INVALID)
def test_it_answers_a_form_error_on_the_incident_add_form(client, value):
    client.force_login(staff_user(Role.SUPPORT))
    data = {"tenant": value, "severity": "sev3", "summary": "Slow", "customer_impact": "Pages load slowly"}
    response = client.post("/admin/launchroom/incident/add/", {**data, **NOTICE_FORMSET})
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert not Incident.objects.exists()


NOTICE_FORMSET = {
    "notices-TOTAL_FORMS": "0",
    "notices-INITIAL_FORMS": "0",
    "notices-MIN_NUM_FORMS": "0",
    "notices-MAX_NUM_FORMS": "1000",
}


def test_it_redraws_a_valid_choice_after_another_fields_error(client):
    tenant = TenantFactory(name="Acme Health")
    client.force_login(staff_user(Role.SUPPORT))
    data = {"tenant": tenant.pk, "severity": "no-such", "summary": "Slow", "customer_impact": "x", **NOTICE_FORMSET}
    html = client.post("/admin/launchroom/incident/add/", data).content.decode()
    assert f'<option value="{tenant.pk}" selected>Acme Health</option>' in html


def test_every_admin_with_autocomplete_fields_uses_the_checked_widget(rf):
    request = rf.get("/admin/")
    request.user = staff_user(Role.SUPPORT)
    checked = []
    for model, model_admin in model_admins(admin.site):
        for name in model_admin.get_autocomplete_fields(request):
            field = model_admin.formfield_for_foreignkey(model._meta.get_field(name), request)
            assert isinstance(field.widget, CheckedAutocompleteSelect), (model, name)
            checked.append(model)
    assert Comment in checked and Incident in checked
