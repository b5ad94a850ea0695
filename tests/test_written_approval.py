"""A buyer's written approval is recorded only by a member of the Commercial owner group: a
superuser outside it is refused like anyone else (docs/RULES.md section 1.3), 403 and nothing
saved, on the API and in the service."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from core.errors import NotPermitted
from launchroom.acceptance.services import check_signer
from launchroom.catalog import Role
from launchroom.models import AcceptanceRecord, DecisionLogEntry
from tests.factories import ready_tenant, staff_user
from tests.launch_helpers import api_body

pytestmark = pytest.mark.django_db

URL = "/api/platform/launch-acceptance"


def written_approval(client, tenant):  # type: ignore[no-untyped-def]
    body = api_body(tenant, on_written_approval=True, signer_email="carlos.conti@contoso.example")
    return client.patch(URL, json.dumps(body), content_type="application/json")


def test_it_refuses_a_superuser_outside_the_commercial_owner_group(client):
    tenant = ready_tenant("contoso")
    superuser = get_user_model().objects.create_superuser("root", "root@thesmios.example", "pw")
    links = DecisionLogEntry.objects.count()
    for user in (superuser, staff_user(Role.OPERATOR)):  # the demo operator is a superuser too
        assert user.is_superuser and user.has_perm("launchroom.add_acceptancerecord")
        client.force_login(user)
        response = written_approval(client, tenant)
        assert response.status_code == 403
        assert response.json()["reasons"] == ["Only a commercial owner records a buyer's written approval."]
        with pytest.raises(NotPermitted):
            check_signer(user=user, role=None, on_written_approval=True)
    assert not AcceptanceRecord.objects.exists()
    assert DecisionLogEntry.objects.count() == links


def test_it_lets_a_commercial_owner_record_it(client):
    tenant = ready_tenant("contoso")
    client.force_login(staff_user(Role.COMMERCIAL))
    response = written_approval(client, tenant)
    assert response.status_code == 201, response.content
    assert AcceptanceRecord.objects.get().on_written_approval
