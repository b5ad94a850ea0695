"""Identical acceptance requests at the same moment leave exactly one record (PostgreSQL):
the "identical repeat" check runs in ``acceptance_sign`` under the tenant lock."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from launchroom.models import AcceptanceRecord
from launchroom.readiness import ledger
from tests.launch_helpers import api_body, buyer
from tests.test_concurrency import (  # noqa: F401  (fixtures)
    contoso,
    groups,
    run_together,
)

CLIENTS = 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_records_one_acceptance_for_identical_concurrent_patches(groups, contoso):  # noqa: F811
    tenant = contoso
    user = buyer("contoso")
    body = json.dumps(api_body(tenant))

    def patch(i: int) -> int:
        client = Client()
        client.force_login(user)
        response = client.patch("/api/platform/launch-acceptance", body, content_type="application/json")
        return response.status_code

    results = run_together(CLIENTS, patch)
    statuses = sorted(status for kind, status in results if kind == "ok")
    assert [r for r in results if r[0] != "ok"] == []
    # One request records it; the others, arriving while it held the lock, repeat it exactly.
    assert statuses == [200] * (CLIENTS - 1) + [201]
    assert AcceptanceRecord.objects.filter(tenant=tenant).count() == 1
    assert next(ledger.verify([tenant])).broken is None
