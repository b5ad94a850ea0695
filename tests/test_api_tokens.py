"""API tokens are made in the admin, shown once, stored as SHA-256, and can be revoked."""

import re

import pytest

from launchroom.models import ApiToken
from tests.launch_helpers import like_demo

pytestmark = pytest.mark.django_db


def test_it_shows_a_new_token_once_and_stores_only_its_hash(client, staff):
    tenant = like_demo("globex")
    client.force_login(staff["operator"])
    response = client.post(
        "/admin/launchroom/apitoken/add/", {"user": staff["commercial"].pk, "name": "CRM sync"}, follow=True
    )
    body = response.content.decode()
    key = re.search(r"it is not shown again: (thes_[\w-]+)", body).group(1)
    token = ApiToken.objects.get(name="CRM sync")
    assert token.key_sha256 == ApiToken.hash_key(key)
    assert key not in repr(ApiToken.objects.filter(pk=token.pk).values().get())
    # Not even the hash is copied into the audit history.
    assert "key_sha256" not in [f.name for f in ApiToken.history.model._meta.fields]
    # The token works for the API, as its user.
    api = client.__class__()
    ok = api.get(f"/api/platform/tenants/{tenant.slug}/readiness", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ok.status_code == 200
    # Revoked, it stops working at once.
    client.post("/admin/launchroom/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    refused = api.get(f"/api/platform/tenants/{tenant.slug}/readiness", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert refused.status_code == 401


def test_it_lets_only_superusers_make_tokens(client, staff):
    client.force_login(staff["commercial"])
    assert client.get("/admin/launchroom/apitoken/add/").status_code == 403
