"""The launch room served again while nothing it shows has changed (launchroom/room/cache.py).

The whole suite runs with the room cache on, as production does; conftest.py empties the
cache before every test. tests/test_room_versions.py calls every service that changes the room.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from billing.services import billing_profile_save
from evidence.services import evidence_attach
from launchroom.conversation.services import comment_add
from launchroom.models import TenantReadiness
from launchroom.readiness import projection
from launchroom.room import cache as room_cache
from tests.launch_helpers import buyer, like_demo

pytestmark = pytest.mark.django_db


def room_url(tenant) -> str:
    return reverse("launchroom:room", args=[tenant.slug])


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_it_serves_the_same_page_again_in_four_queries(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    first = client.get(room_url(tenant))
    with CaptureQueriesContext(connection) as ctx:
        again = client.get(room_url(tenant))
    assert again.status_code == 200
    # session, user, membership, and the room version with valid until and the unread count
    assert len(ctx.captured_queries) == 4
    assert again.context is None  # nothing rendered
    assert _without_tokens(again.content.decode()) == _without_tokens(first.content.decode())
    assert again["Cache-Control"] == first["Cache-Control"]


def test_it_masks_the_csrf_token_afresh_and_the_form_still_posts(client, staff):
    tenant = like_demo("contoso")
    client = type(client)(enforce_csrf_checks=True)
    client.force_login(buyer("contoso"))
    first = client.get(room_url(tenant)).content.decode()
    again = client.get(room_url(tenant)).content.decode()
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', again)
    assert token and set(token).isdisjoint(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', first))
    response = client.post(
        reverse("launchroom:comment", args=[tenant.slug]),
        {"csrfmiddlewaretoken": token[0], "subject": "gate:public-deployment", "body": "Cached form, fresh token."},
    )
    assert response.status_code == 302


def test_it_shows_a_change_on_the_next_request(client, staff):
    tenant = like_demo("northwind")
    client.force_login(buyer("northwind"))
    before = client.get(room_url(tenant)).content.decode()
    assert "run 99: all checks passed" not in before
    evidence_attach(
        tenant=tenant,
        gate_key="public-deployment",
        requirement_key="launch-smoke",
        by=staff["operator"],
        output="launch smoke run 99: all checks passed",
        captured_at=timezone.now() - timedelta(hours=1),
        produced_by_command="launch_proof_bundle",
    )
    comment_add(
        tenant=tenant, author=staff["operator"], body="A new comment, shown at once.", gate_key="public-deployment"
    )
    after = client.get(room_url(tenant)).content.decode()
    assert "A new comment, shown at once." in after
    items = re.compile(r"All evidence \((\d+) item")
    assert int(items.search(after).group(1)) == int(items.search(before).group(1)) + 1
    assert _without_tokens(after) != _without_tokens(before)


def test_it_keeps_pages_apart_by_viewer(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    as_buyer = client.get(room_url(tenant)).content.decode()
    client.force_login(staff["operator"])
    as_staff = client.get(room_url(tenant)).content.decode()
    assert "Log out buyer-contoso" in as_buyer
    assert "Log out operator" in as_staff and "Log out buyer-contoso" not in as_staff


def test_it_renders_when_a_message_is_waiting(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    client.get(room_url(tenant))
    # The POST leaves a message for the room it redirects to: a render shows it (and uses it up).
    response = client.post(
        reverse("launchroom:comment", args=[tenant.slug]),
        {"subject": "gate:public-deployment", "body": "Shown with its message.", "next": room_url(tenant)},
        follow=True,
    )
    assert "Your comment was added to the conversation" in response.content.decode()
    assert "Your comment was added to the conversation" not in client.get(room_url(tenant)).content.decode()


def rendered(response) -> bool:
    """Whether the answer was rendered for this request (a kept page renders no template)."""
    return response.context is not None


def test_it_renders_once_the_stored_row_is_past_its_valid_until(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    assert rendered(client.get(room_url(tenant)))
    assert not rendered(client.get(room_url(tenant)))
    # Time alone reaches the row's valid until before the refresh rewrites it: no page is kept.
    TenantReadiness.objects.filter(tenant=tenant).update(valid_until=timezone.now())
    assert rendered(client.get(room_url(tenant)))
    assert rendered(client.get(room_url(tenant)))
    projection.refresh()  # the scheduler's refresh: a new row, a new version, kept again
    assert rendered(client.get(room_url(tenant)))
    assert not rendered(client.get(room_url(tenant)))


def test_it_renders_a_tenant_without_a_stored_row_every_time(client, staff):
    tenant = like_demo("contoso")
    TenantReadiness.objects.filter(tenant=tenant).delete()  # as a bulk import leaves a tenant
    client.force_login(buyer("contoso"))
    assert rendered(client.get(room_url(tenant)))
    assert rendered(client.get(room_url(tenant)))


def test_a_refused_service_leaves_the_kept_page(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    client.get(room_url(tenant))
    version = TenantReadiness.objects.get(tenant=tenant).room_version
    with pytest.raises(ValidationError):
        billing_profile_save(tenant=tenant, by=staff["finance"], billing_owner_email="not an address")
    assert TenantReadiness.objects.get(tenant=tenant).room_version == version
    assert not rendered(client.get(room_url(tenant)))


def test_a_page_rendered_later_than_now_is_not_served():
    now = timezone.now()
    room_cache.put("k", "<p>kept</p>", csrf="", rendered_at=now + timedelta(minutes=5))
    assert room_cache.get("k", None, now) is None  # a clock moved back
    assert room_cache.get("k", None, now + timedelta(minutes=6)) == "<p>kept</p>"


def test_it_renders_every_request_when_turned_off(client, staff):
    tenant = like_demo("contoso")
    client.force_login(buyer("contoso"))
    with override_settings(ROOM_CACHE_SECONDS=0):
        assert rendered(client.get(room_url(tenant)))
        assert rendered(client.get(room_url(tenant)))


def cache_setting(url: str | None) -> dict:
    """thesmios/settings.py's CACHES["default"] read with CACHE_URL=url, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "CACHE_URL"}
    env["DEBUG"] = "1"
    if url is not None:
        env["CACHE_URL"] = url
    code = "import json, thesmios.settings as s; print(json.dumps(s.CACHES['default']))"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def test_the_cache_is_local_memory_unless_cache_url_names_redis():
    assert cache_setting(None)["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert cache_setting("redis://127.0.0.1:6379/0") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
