"""Tenant isolation: a buyer of tenant A reaching for tenant B's objects gets 404 and nothing of B.

Every launch-room, platform-API and evidence URL is enumerated from the URL resolver, so a
new route is not covered by accident: the test fails until it says how to aim it at B.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import BillingProfile
from evidence.models import EvidenceAttachment
from launchroom.models import AcceptanceCountersignature, AcceptanceRecord, DecisionLogEntry, TenantMembership
from tests.launch_helpers import api_body, buyer, like_demo

pytestmark = pytest.mark.django_db


# The URL prefixes whose every route serves or changes tenant data.
TENANT_PREFIXES = ("launch-room/", "api/platform/", "evidence/")
# Routes with no tenant in them: what they show a customer is checked separately.
NOT_TENANT_ROUTES = {"launchroom:index", "launchroom:portfolio_csv"}


def tenant_routes() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and (prefix + str(p.pattern)).startswith(TENANT_PREFIXES):
                names.add(f"{namespace}:{p.name}" if namespace else str(p.name))

    walk(get_resolver().url_patterns, "", None)
    return names


def requests_against(a, b) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """For each route: the (method, url, data) requests of A's buyer aimed at B's objects."""
    record = AcceptanceRecord.objects.filter(tenant=b).first()
    attachment = EvidenceAttachment.objects.filter(tenant=b).first()
    api = "/api/platform/launch-acceptance"
    return {
        "launchroom:room": [("get", reverse("launchroom:room", args=[b.slug]), {})],
        "launchroom:sign": [("post", reverse("launchroom:sign", args=[b.slug]), {"decision": "accepted"})],
        "launchroom:billing_fallback": [
            ("post", reverse("launchroom:billing_fallback", args=[b.slug]), {"name": "Mallory", "confirm": "on"})
        ],
        "launchroom:evidence": [("get", reverse("launchroom:evidence", args=[b.slug]), {})],
        "launchroom:certificate": [
            ("get", reverse("launchroom:certificate", args=[b.slug, record.pk]), {}),
            # A's own slug does not open B's record either.
            ("get", reverse("launchroom:certificate", args=[a.slug, record.pk]), {}),
        ],
        "launchroom:certificate_json": [
            ("get", reverse("launchroom:certificate_json", args=[b.slug, record.pk]), {}),
            ("get", reverse("launchroom:certificate_json", args=[a.slug, record.pk]), {}),
        ],
        "evidence:download": [("get", reverse("evidence:download", args=[attachment.pk]), {})],
        "launchroom:packet": [("get", reverse("launchroom:packet", args=[b.slug]), {})],
        "launchroom:order_form": [("get", reverse("launchroom:order_form", args=[b.slug]), {})],
        "launchroom:order_form_approve": [
            ("post", reverse("launchroom:order_form_approve", args=[b.slug]), {"name": "Mallory", "role": "CEO"})
        ],
        "launchroom:order_form_changes": [
            ("post", reverse("launchroom:order_form_changes", args=[b.slug]), {"comment": "Change it"})
        ],
        "launchroom:comment": [
            ("post", reverse("launchroom:comment", args=[b.slug]), {"subject": "gate:billing-route", "body": "Hi"})
        ],
        "api_readiness": [
            ("get", reverse("api_readiness", args=[b.slug]), {}),
            ("get", reverse("api_readiness", args=[b.slug]) + "?stage=paid_beta", {}),
        ],
        "api_transitions": [
            ("get", reverse("api_transitions", args=[b.slug]), {}),
            ("get", reverse("api_transitions", args=[b.slug]) + "?since=2000-01-01", {}),
        ],
        "api_launch_acceptance": [
            ("get", f"{api}?tenant={b.slug}", {}),
            ("patch", api, api_body(b)),
            ("patch", api, {**api_body(b), "decision": "nonsense", "exclusions": "x"}),
        ],
        "api_acceptance_countersign": [("post_json", reverse("api_acceptance_countersign", args=[record.pk]), {})],
        "api_acceptance_decline": [
            ("post_json", reverse("api_acceptance_decline", args=[record.pk]), {"note": "Declined by A"})
        ],
    }


def b_markers(b) -> list[str]:
    """Strings only B's data contains."""
    record = AcceptanceRecord.objects.filter(tenant=b).first()
    attachment = EvidenceAttachment.objects.filter(tenant=b).first()
    markers = [b.name, b.slug.capitalize(), f"buyer-{b.slug}", f"@{b.slug}.example", attachment.sha256]
    order_form = b.order_forms.filter(status="signed").first()
    if order_form:
        markers.append(order_form.approval_reference)
    if record:
        markers += [record.snapshot_sha256, record.signer_name]
    return markers


def state(b) -> tuple:
    return (
        list(AcceptanceRecord.objects.values_list("pk", flat=True)),
        list(AcceptanceCountersignature.objects.values_list("pk", flat=True)),
        DecisionLogEntry.objects.count(),
        list(BillingProfile.objects.filter(tenant=b).values()),
    )


def test_every_tenant_route_is_covered(staff):
    a, b = like_demo("contoso"), like_demo("globex")
    covered = set(requests_against(a, b)) | NOT_TENANT_ROUTES
    assert tenant_routes() <= covered, f"aim these routes at tenant B: {sorted(tenant_routes() - covered)}"


@pytest.mark.parametrize("csrf", [False, True])
def test_a_buyer_of_a_gets_404_and_nothing_of_b_on_every_route(staff, csrf):
    a, b = like_demo("contoso"), like_demo("globex")
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(buyer(a.slug))
    if csrf:
        client.get(reverse("launchroom:room", args=[a.slug]))
    token = client.cookies["csrftoken"].value if csrf else ""
    before = state(b)
    problems = []
    for route, requests in requests_against(a, b).items():
        for method, url, data in requests:
            if method == "get":
                response = client.get(url)
            elif method == "post":
                response = client.post(url, {**data, "csrfmiddlewaretoken": token})
            elif method == "post_json":
                response = client.post(url, json.dumps(data), content_type="application/json", HTTP_X_CSRFTOKEN=token)
            else:
                response = client.patch(url, json.dumps(data), content_type="application/json", HTTP_X_CSRFTOKEN=token)
            body = response.content.decode(errors="replace")
            if response.status_code != 404:
                problems.append(f"{route} {method.upper()} {url}: {response.status_code}, expected 404")
            leaked = [m for m in b_markers(b) if m and m in body]
            if leaked:
                problems.append(f"{route} {method.upper()} {url}: body shows {leaked}")
    assert problems == []
    assert state(b) == before


def test_a_buyer_sees_only_their_own_tenants_on_pages_without_a_tenant(staff, client):
    a, b = like_demo("contoso"), like_demo("globex")
    client.force_login(buyer(a.slug))
    for name in sorted(NOT_TENANT_ROUTES):
        response = client.get(reverse(name), follow=True)
        body = response.content.decode(errors="replace")
        assert [m for m in b_markers(b) if m in body] == [], name
    room = client.get(reverse("launchroom:room", args=[a.slug])).content.decode()
    assert [m for m in b_markers(b) if m in room] == []


def test_a_removed_member_gets_404_at_once(staff, client):
    a = like_demo("contoso")
    user = buyer(a.slug)
    client.force_login(user)
    assert client.get(reverse("launchroom:room", args=[a.slug])).status_code == 200
    TenantMembership.objects.filter(user=user, tenant=a).delete()
    assert client.get(reverse("launchroom:room", args=[a.slug])).status_code == 404
    assert client.get("/api/platform/launch-acceptance", {"tenant": a.slug}).status_code == 404


def test_anonymous_visitors_are_sent_to_login_or_refused(staff, client):
    a, b = like_demo("contoso"), like_demo("globex")
    for route, requests in requests_against(a, b).items():
        for method, url, data in requests:
            if method == "get":
                response = client.get(url)
            elif method == "post":
                response = client.post(url, data)
            else:
                response = client.patch(url, json.dumps(data), content_type="application/json")
            assert response.status_code in (302, 401, 404), (route, url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(reverse("login"))
            body = response.content.decode(errors="replace")
            assert [m for m in b_markers(b) if m in body] == [], (route, url)


@pytest.mark.django_db
def test_it_answers_an_unknown_room_with_a_plain_styled_404(client, staff):
    from tests.launch_helpers import buyer, like_demo

    like_demo("northwind")
    like_demo("globex")
    client.force_login(buyer("northwind"))
    for slug in ("globex", "no-such-tenant"):
        response = client.get(f"/launch-room/{slug}/")
        body = response.content.decode()
        assert response.status_code == 404
        assert "There is nothing here that you can open" in body
        assert "Globex" not in body
