"""Issue 11, serve it fast: the launch room served again while nothing it shows has changed.

The rest of the suite renders every request (``ROOM_CACHE_SECONDS=0`` in tests/testenv.py, so
tests can read the page's context); these tests turn the cache on.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from evidence.services import evidence_attach
from launchroom.conversation.services import comment_add
from launchroom.room import cache as room_cache
from tests.launch_helpers import build, buyer, prebuild

pytestmark = pytest.mark.django_db

_demo_tenants = prebuild("northwind", "contoso")


@pytest.fixture(autouse=True)
def room_cache_on():
    cache.clear()
    with override_settings(ROOM_CACHE_SECONDS=300):
        yield
    cache.clear()


def room_url(tenant) -> str:
    return reverse("launchroom:room", args=[tenant.slug])


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_it_serves_the_same_page_again_in_four_queries(client, staff):
    tenant = build("contoso", staff)
    client.force_login(buyer("contoso"))
    first = client.get(room_url(tenant))
    with CaptureQueriesContext(connection) as ctx:
        again = client.get(room_url(tenant))
    assert again.status_code == 200
    # session, user, membership, and the fingerprint with the unread count
    assert len(ctx.captured_queries) == 4
    assert _without_tokens(again.content.decode()) == _without_tokens(first.content.decode())
    assert again["Cache-Control"] == first["Cache-Control"]


def test_it_masks_the_csrf_token_afresh_and_the_form_still_posts(client, staff):
    tenant = build("contoso", staff)
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
    tenant = build("northwind", staff)
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
    tenant = build("contoso", staff)
    client.force_login(buyer("contoso"))
    as_buyer = client.get(room_url(tenant)).content.decode()
    client.force_login(staff["operator"])
    as_staff = client.get(room_url(tenant)).content.decode()
    assert "Log out buyer-contoso" in as_buyer
    assert "Log out operator" in as_staff and "Log out buyer-contoso" not in as_staff


def test_it_renders_when_a_message_is_waiting(client, staff):
    tenant = build("contoso", staff)
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


def test_it_does_not_serve_a_page_past_its_valid_until(client, staff):
    tenant = build("contoso", staff)
    client.force_login(buyer("contoso"))
    client.get(room_url(tenant))
    now = timezone.now()
    room_cache.put("k", "<p>kept</p>", csrf="", rendered_at=now - timedelta(minutes=1), valid_until=now)
    assert room_cache.get("k", None) is None
    room_cache.put("k", "<p>kept</p>", csrf="", rendered_at=now, valid_until=now + timedelta(days=1))
    assert room_cache.get("k", None) == "<p>kept</p>"
    room_cache.put("k", "<p>kept</p>", csrf="", rendered_at=now + timedelta(minutes=5), valid_until=None)
    assert room_cache.get("k", None) is None  # rendered "later" than now: a clock moved back


def test_it_renders_every_request_when_turned_off(client, staff):
    tenant = build("contoso", staff)
    client.force_login(buyer("contoso"))
    with override_settings(ROOM_CACHE_SECONDS=0):
        client.get(room_url(tenant))
        assert client.get(room_url(tenant)).context["readiness"] is not None
