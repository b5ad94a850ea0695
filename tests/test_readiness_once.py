"""Readiness is loaded and evaluated once per request on the pages that show or check it,
and never with pasted output, which it does not read."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from launchroom.models import AcceptanceRecord, GateDecision
from tests.launch_helpers import buyer, like_demo, sign_form

pytestmark = pytest.mark.django_db

ATTACHMENT_OUTPUT = '"evidence_evidenceattachment"."output"'
# Read by the pages, not by evaluate(): a lean load (the stored readiness) leaves it out.
ATTACHMENT_NOTE = '"evidence_evidenceattachment"."note"'


def readiness_loads(queries: CaptureQueriesContext) -> list[str]:
    """The query that loads a tenant's evidence for readiness (one per load)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "ROW_NUMBER" in q["sql"].upper() and "evidence_evidenceattachment" in q["sql"]
    ]


def one_load(queries: CaptureQueriesContext, *, wrote: bool = False) -> None:
    """One load for the request (whole rows, without output). After a write, the stored
    readiness may re-evaluate the *new* state once more from lean rows, and nothing else."""
    loads = readiness_loads(queries)
    whole = [sql for sql in loads if ATTACHMENT_NOTE in sql]
    assert len(whole) == 1, loads
    assert ATTACHMENT_OUTPUT not in whole[0]
    assert len(loads) - len(whole) <= (1 if wrote else 0), loads


def test_it_loads_readiness_once_for_the_launch_room(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("launchroom:room", args=[tenant.slug])).status_code == 200
    one_load(queries)


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({}, 302),  # signed
        ({"exclusions": ""}, 409),  # refused by the rules: the room is shown from the service's readiness
        ({"snapshot_sha256": "0" * 64}, 409),  # the readiness changed since the page was shown
        ({"signer_name": ""}, 400),  # a bad field: nothing was checked under the lock
    ],
)
def test_it_loads_readiness_once_for_a_signature(client, staff, overrides, status):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    data = sign_form(tenant, "accepted", **overrides)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("launchroom:sign", args=[tenant.slug]), data)
    assert response.status_code == status
    one_load(queries, wrote=status == 302)
    assert AcceptanceRecord.objects.count() == (1 if status == 302 else 0)


def test_it_loads_readiness_once_for_the_tenant_admin_page(client, staff):
    tenant = like_demo("contoso")
    client.force_login(staff["operator"])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/admin/launchroom/tenant/{tenant.pk}/change/").status_code == 200
    one_load(queries)


def test_it_loads_readiness_once_to_decide_a_gate(client, staff):
    tenant = like_demo("contoso")
    client.force_login(staff["security"])
    before = GateDecision.objects.count()
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/admin/launchroom/tenant/{tenant.pk}/decide/",
            {"apply": "1", "gate_key": "security-procurement-pack", "decision": "accepted", "note": "Reviewed."},
        )
    assert response.status_code == 302
    assert GateDecision.objects.count() == before + 1
    one_load(queries, wrote=True)
