"""The one-tenant load (``selectors.load_one``: every projection, every page that loads one
tenant) is ``load_tenants`` of that tenant: the same rows, the same readiness, five queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.models import EvidenceAttachment
from evidence.services import evidence_verify
from launchroom.models import Tenant
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.projection import project
from launchroom.readiness.selectors import TenantData, load, load_one, load_tenants
from tests.factories import EvidenceAttachmentFactory
from tests.launch_helpers import like_demo

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenants() -> dict[str, Tenant]:
    """Every kind of row: contoso has billing, support, decisions, evidence with a replaced
    attachment and a checked one; globex a signed acceptance and a stage move."""
    contoso = like_demo("contoso")
    first = EvidenceAttachment.objects.filter(tenant=contoso).first()
    assert first is not None
    EvidenceAttachmentFactory(
        tenant=contoso, gate_key=first.gate_key, requirement_key=first.requirement_key, age_days=0
    )
    evidence_verify(attachment=first)
    return {"contoso": contoso, "globex": like_demo("globex")}


ANNOTATIONS = ("same_requirement", "check_ok", "check_detail")


def row(obj: Model | None) -> Any:
    """A row as loaded: its loaded field values, which fields are deferred, its annotations."""
    if obj is None:
        return None
    deferred = obj.get_deferred_fields()
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in deferred}
    return (type(obj), values, sorted(deferred), {a: getattr(obj, a) for a in ANNOTATIONS if hasattr(obj, a)})


def described(data: TenantData) -> dict[str, Any]:
    return {
        "tenant": row(data.tenant),
        "billing": row(data.billing),
        "support": row(data.support),
        "order_forms": [row(o) for o in data.order_forms],
        "attachments": [row(a) for a in data.attachments],
        "decisions": [row(d) for d in data.decisions],
        "acceptances": [row(r) for r in data.acceptances],
    }


@pytest.mark.parametrize("lean", [True, False])
@pytest.mark.parametrize("with_output", [True, False])
@pytest.mark.parametrize("slug", ["contoso", "globex"])
def test_it_loads_one_tenant_as_the_many_tenant_load_does(slug, lean, with_output, tenants):
    tenant = tenants[slug]
    many = {d.tenant.pk: d for d in load_tenants(Tenant.objects.all(), lean=lean, with_output=with_output)}
    one = load_one(tenant.pk, lean=lean, with_output=with_output)
    assert described(one) == described(many[tenant.pk])
    assert one.attachments and one.decisions and one.order_forms
    now = timezone.now()
    assert evaluate(one, now=now).as_json() == evaluate(many[tenant.pk], now=now).as_json()


def test_it_loads_one_tenant_with_its_related_rows_in_five_queries(tenants):
    tenant = tenants["globex"]
    # the tenant with its billing, support, owner and stored readiness; its order forms,
    # attachments, decisions (with who decided) and acceptances
    with CaptureQueriesContext(connection) as queries:
        data = load_one(tenant.pk, with_row=True)
        assert data.tenant.readiness_row.decision
        assert data.tenant.commercial_owner.username == "commercial"
        assert data.billing is not None and data.support is not None
        assert {d.decided_by.username for d in data.decisions} >= {"operator"}
    assert len(queries) == 5, [q["sql"] for q in queries.captured_queries]


def test_it_refuses_a_tenant_that_does_not_exist():
    with pytest.raises(Tenant.DoesNotExist):
        load_one(10**9)
    with pytest.raises(Tenant.DoesNotExist):
        load(Tenant(pk=10**9))
    with pytest.raises(Tenant.DoesNotExist):
        project(tenant_id=10**9, cause="test")
