"""Admin changelists pin their query count: the same at 1 row and at 100 rows."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingFallbackAcceptance, BillingProfile
from launchroom.models import AcceptanceRecord, GateDecision, OrderForm, StageChange, Tenant, TenantMembership
from tests.launch_helpers import module_state

pytestmark = pytest.mark.django_db


def make_tenants(staff, start, count):
    """``count`` tenants, each with one row in every changelist's table."""
    now = timezone.now()
    for i in range(start, start + count):
        tenant = Tenant.objects.create(name=f"Tenant {i:03}", slug=f"t{i:03}", commercial_owner=staff["commercial"])
        OrderForm.objects.create(tenant=tenant, version=1, requested_stage="paid_beta")
        profile = BillingProfile.objects.create(tenant=tenant, plan="p")
        buyer = get_user_model().objects.create(username=f"buyer{i:03}")
        BillingFallbackAcceptance.objects.create(
            tenant=tenant, profile=profile, accepted_by=buyer, accepted_name="B", accepted_at=now, terms_sha256="0" * 64
        )
        TenantMembership.objects.create(user=buyer, tenant=tenant, role="buyer_sponsor")
        GateDecision.objects.create(
            tenant=tenant,
            gate_key="strict-proof-plan",
            decision="accepted",
            note="n",
            decided_by=staff["operator"],
            decided_at=now,
        )
        first = AcceptanceRecord.objects.create(
            tenant=tenant,
            stage="paid_beta",
            decision="deferred",
            signer_name="B",
            signer_role="R",
            signer_email="b@example.com",
            recorded_by=buyer,
            approval_reference="PO",
            signed_at=now,
            snapshot_sha256="0" * 64,
            note="later",
        )
        AcceptanceRecord.objects.create(
            tenant=tenant,
            stage="paid_beta",
            decision="rejected",
            signer_name="B",
            signer_role="R",
            signer_email="b@example.com",
            recorded_by=buyer,
            approval_reference="PO",
            signed_at=now,
            snapshot_sha256="0" * 64,
            note="no",
            supersedes=first,
        )
        StageChange.objects.create(
            tenant=tenant,
            from_stage="setup",
            to_stage="paused",
            reason="r",
            changed_by=staff["operator"],
            changed_at=now,
        )


CHANGELISTS = [
    "/admin/launchroom/tenant/",
    "/admin/launchroom/tenantmembership/",
    "/admin/launchroom/orderform/",
    "/admin/launchroom/gatedecision/",
    "/admin/launchroom/acceptancerecord/",
    "/admin/launchroom/stagechange/",
    "/admin/billing/billingprofile/",
    "/admin/billing/billingfallbackacceptance/",
]


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx)


# url -> the queries its changelist ran at one row; the module then holds 100 rows.
AT_ONE_ROW: dict[str, int] = {}


def _one_row_then_a_hundred() -> None:
    """Count every changelist at one row, then grow every table to 100 rows, once for the module."""
    from django.test import Client

    from launchroom import demo

    staff = demo.ensure_staff()
    client = Client()
    client.force_login(staff["operator"])
    make_tenants(staff, 0, 1)
    AT_ONE_ROW.update({url: count_queries(client, url) for url in CHANGELISTS})
    make_tenants(staff, 1, 99)


_hundred_rows = module_state(_one_row_then_a_hundred)


@pytest.mark.parametrize("url", CHANGELISTS)
def test_it_keeps_the_changelist_query_count_flat(client, staff, url):
    client.force_login(staff["operator"])
    assert Tenant.objects.count() == 100
    large = count_queries(client, url)
    assert AT_ONE_ROW[url] == large, f"{url}: {AT_ONE_ROW[url]} queries at 1 row, {large} at 100"
    # Session, user, the page of rows, the paginator's count: nothing per row.
    assert large <= 8


def test_it_offers_decision_log_kinds_without_scanning_the_log(client, staff):
    client.force_login(staff["operator"])
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/admin/launchroom/decisionlogentry/?kind=gate_decision")
    assert response.status_code == 200
    assert not any("DISTINCT" in q["sql"].upper() for q in ctx.captured_queries)
    assert "gate decision" in response.content.decode()
