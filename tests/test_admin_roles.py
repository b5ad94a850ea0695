"""Each staff role reaches exactly its screens in the admin (least privilege)."""

import pytest
from django.contrib.auth import get_user_model

from billing.models import BillingProfile
from launchroom import demo
from launchroom.models import LaunchStage, OrderForm, Tenant
from launchroom.orderforms.services import ORDER_FORM_SCOPE_FIELDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(staff):
    tenant = demo.new_tenant("acme", "Acme", staff)
    demo.scoped_order_form(tenant, staff, requested_stage=LaunchStage.PRIVATE_BETA, sign=False)
    demo.complete_billing(tenant, staff, accept_by=None)
    return tenant


def as_user(client, user):
    client.force_login(user)
    return client


# (role, url name pattern, expected status)
SCREENS = [
    ("commercial", "/admin/launchroom/orderform/{order_form}/change/", 200),
    ("commercial", "/admin/billing/billingprofile/{billing}/change/", 403),
    ("commercial", "/admin/billing/billingprofile/", 403),
    ("commercial", "/admin/launchroom/tenant/add/", 200),
    ("finance", "/admin/billing/billingprofile/{billing}/change/", 200),
    ("finance", "/admin/launchroom/orderform/{order_form}/change/", 200),  # view only
    ("finance", "/admin/launchroom/tenant/add/", 403),
    ("finance", "/admin/launchroom/gatedecision/", 403),
    ("operator", "/admin/launchroom/gatedecision/", 200),
    ("operator", "/admin/billing/billingprofile/{billing}/change/", 200),  # view only
    ("operator", "/admin/launchroom/tenant/{tenant}/move-stage/", 200),
    ("security", "/admin/launchroom/tenant/{tenant}/move-stage/", 403),
    ("security", "/admin/launchroom/tenant/{tenant}/decide/", 200),
    ("support", "/admin/launchroom/tenant/{tenant}/decide/", 200),
    ("support", "/admin/billing/billingprofile/", 403),
    ("support", "/admin/launchroom/orderform/", 403),
    ("finance", "/admin/launchroom/tenant/{tenant}/decide/", 403),
    ("commercial", "/admin/launchroom/tenant/{tenant}/move-stage/", 403),
]


@pytest.mark.parametrize(("role", "url", "status"), SCREENS)
def test_it_gives_each_role_only_its_screens(client, staff, tenant, role, url, status):
    ids = {
        "tenant": tenant.pk,
        "order_form": OrderForm.objects.get(tenant=tenant).pk,
        "billing": BillingProfile.objects.get(tenant=tenant).pk,
    }
    response = as_user(client, staff[role]).get(url.format(**ids))
    assert response.status_code == status


def test_it_lets_the_commercial_owner_edit_an_order_form(client, staff, tenant):
    order_form = OrderForm.objects.get(tenant=tenant)
    data = {name: getattr(order_form, name) or "" for name in ORDER_FORM_SCOPE_FIELDS}
    data["compliance_modules"] = "Right-to-work verification\nDriver licence checks"
    response = as_user(client, staff["commercial"]).post(f"/admin/launchroom/orderform/{order_form.pk}/change/", data)
    assert response.status_code == 302
    order_form.refresh_from_db()
    assert "Driver licence checks" in order_form.compliance_modules


def test_it_refuses_the_commercial_owner_on_a_billing_profile(client, staff, tenant):
    billing = BillingProfile.objects.get(tenant=tenant)
    response = as_user(client, staff["commercial"]).post(
        f"/admin/billing/billingprofile/{billing.pk}/change/", {"tenant": tenant.pk, "plan": "Free forever"}
    )
    assert response.status_code == 403
    billing.refresh_from_db()
    assert billing.plan == "Managed beta: design partner"


def test_it_lets_finance_edit_billing_and_records_who(client, staff, tenant):
    billing = BillingProfile.objects.get(tenant=tenant)
    data = {
        "tenant": tenant.pk,
        "route": "invoice_only",
        "plan": "Design partner plus",
        "seat_cap": 200,
        "billing_owner_name": "AP",
        "billing_owner_email": "ap@acme.example",
        "po_terms": "Net 45",
        "invoice_contact": "",
        "renewal_terms": "Quarterly",
        "cancellation_terms": "30 days",
    }
    response = as_user(client, staff["finance"]).post(f"/admin/billing/billingprofile/{billing.pk}/change/", data)
    assert response.status_code == 302
    latest = billing.history.latest()
    assert latest.plan == "Design partner plus"
    assert latest.history_user == staff["finance"]


def test_it_keeps_customers_out_of_the_admin(client, staff, tenant):
    buyer = demo.ensure_buyer(tenant, "buyer-acme")
    response = as_user(client, buyer).get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_gives_groups_no_user_or_delete_permissions(staff):
    for username in ["commercial", "finance", "security", "support"]:
        user = get_user_model().objects.get(username=username)
        perms = user.get_all_permissions()
        assert not any(p.startswith("auth.") for p in perms), username
        assert not {p for p in perms if ".delete_" in p} - {"launchroom.delete_tenantmembership"}, username


def test_it_lets_the_commercial_owner_create_a_tenant_with_history(client, staff):
    response = as_user(client, staff["commercial"]).post(
        "/admin/launchroom/tenant/add/",
        {
            "name": "Umbrella",
            "slug": "umbrella",
            "commercial_owner": staff["commercial"].pk,
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
            "order_forms-TOTAL_FORMS": 0,
            "order_forms-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    tenant = Tenant.objects.get(slug="umbrella")
    assert tenant.stage == "setup"
    assert tenant.history.get().history_user == staff["commercial"]


def test_ensure_staff_again_reads_and_writes_nothing_and_repairs_what_is_missing(django_assert_num_queries):
    staff = demo.ensure_staff()
    # Run again: the groups, the users and their memberships are read; nothing is written.
    with django_assert_num_queries(3):
        again = demo.ensure_staff()
    assert {u: user.pk for u, user in again.items()} == {u: user.pk for u, user in staff.items()}
    # A lost membership and a demoted operator are put back.
    operator = staff["operator"]
    operator.groups.clear()
    get_user_model().objects.filter(pk=operator.pk).update(is_staff=False, is_superuser=False)
    demo.ensure_staff()
    operator.refresh_from_db()
    assert operator.is_staff and operator.is_superuser
    assert list(operator.groups.values_list("name", flat=True)) == ["Operator"]
