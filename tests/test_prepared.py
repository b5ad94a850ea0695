"""Prepared queries (core/prepared.py): the one-tenant load compiled once gives what the ORM gives.

``load_one`` (every projection, every page that loads one tenant) runs the SQL the ORM
compiled once; ``load_tenants`` compiles its querysets each time. For the same tenant both
must build the same rows, with the same columns left deferred, the same annotations and the
same related objects, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from core.prepared import Prepared
from launchroom.models import Tenant
from launchroom.readiness.projection import project
from launchroom.readiness.selectors import TenantData, load, load_one, load_tenants
from tests.launch_helpers import build, prebuild

# Every kind of row: contoso has billing, support, evidence with checks, decisions; globex a
# signed acceptance and a stage move.
_demo = prebuild("contoso", "globex")

pytestmark = pytest.mark.django_db

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
def test_it_loads_one_tenant_as_the_orm_does(slug, lean, with_output, staff):
    tenant = build(slug, staff)
    by_orm = load_tenants(Tenant.objects.filter(pk=tenant.pk), lean=lean, with_output=with_output)[0]
    prepared = load_one(tenant.pk, lean=lean, with_output=with_output)
    assert described(prepared) == described(by_orm)
    assert prepared.attachments and prepared.decisions and prepared.order_forms


def test_it_brings_the_related_rows_without_another_query(staff):
    tenant = build("globex", staff)
    with CaptureQueriesContext(connection) as queries:
        data = load_one(tenant.pk, with_row=True)
        assert data.tenant.readiness_row.decision
        assert data.tenant.commercial_owner.username == "commercial"
        assert data.billing is not None and data.support is not None
        assert {d.decided_by.username for d in data.decisions} >= {"operator"}
    assert len(queries) == 5, [q["sql"] for q in queries.captured_queries]


def test_it_refuses_a_tenant_that_does_not_exist(staff):
    with pytest.raises(Tenant.DoesNotExist):
        load_one(10**9)
    with pytest.raises(Tenant.DoesNotExist):
        load(Tenant(pk=10**9))
    with pytest.raises(Tenant.DoesNotExist):
        project(tenant_id=10**9, cause="test")


def test_it_sees_a_change_made_after_it_was_compiled(staff):
    tenant = build("contoso", staff)
    load_one(tenant.pk)  # compiled, if no test before did
    Tenant.objects.filter(pk=tenant.pk).update(name="Contoso Renamed")
    data = load_one(tenant.pk)
    assert data.tenant.name == "Contoso Renamed"


@pytest.mark.parametrize(
    "build_queryset",
    [
        lambda pk: Tenant.objects.all(),  # the id nowhere
        lambda pk: Tenant.objects.filter(pk=pk, commercial_owner_id=pk),  # the id twice
    ],
    ids=["no-id", "two-ids"],
)
def test_it_refuses_a_queryset_that_does_not_take_the_id_once(build_queryset):
    with pytest.raises(ImproperlyConfigured, match="takes its id in one parameter"):
        Prepared(build_queryset).run(1, "default")


def test_it_refuses_a_queryset_that_locks_rows():
    with pytest.raises(ImproperlyConfigured, match="cannot lock rows"):
        Prepared(lambda pk: Tenant.objects.filter(pk=pk).select_for_update()).run(1, "default")
