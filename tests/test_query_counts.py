"""Every page, changelist and API endpoint runs exactly its pinned number of queries.

The counts live in ``tests/query_counts.json`` (name -> count); any difference fails, with the
queries listed. Regenerate after a deliberate change with ``UPDATE_QUERY_COUNTS=1`` (see
tests/query_counts.py) and review the diff. Each endpoint is requested once to warm the
session and the per-process caches, then counted on the second request, on the four demo
tenants of docs/RULES.md section 9 as ``like_demo`` makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.admin import model_admins
from launchroom import demo
from launchroom.acceptance.certificate import verification_code
from launchroom.models import AcceptanceRecord, MembershipRole, Tenant
from tests import query_counts
from tests.factories import member
from tests.launch_helpers import like_demo

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PACKET_KEY = (
    Ed25519PrivateKey.generate()
    .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    .decode()
)


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    user: str | None = None  # username; None: anonymous
    status: int = 200


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """The four demo tenants in their docs/RULES.md section 9 states (``like_demo``) and a
    viewer of two of them."""
    tenants = {slug: like_demo(slug) for slug in demo.BUYER_NAMES}
    # (Not contoso: its tenant page runs two queries per member, pinned with two members.)
    for slug in ("northwind", "initech"):
        member(tenants[slug], MembershipRole.VIEWER, "portfolio-viewer")
    return {"tenants": tenants}


def endpoints(tenants: dict[str, Tenant]) -> list[Endpoint]:
    contoso, globex = tenants["contoso"], tenants["globex"]
    record = AcceptanceRecord.objects.filter(tenant=globex).latest("pk")
    found = [
        # Public surface and health.
        Endpoint("public: home", reverse("home")),
        Endpoint("public: managed beta page", reverse("managed_beta")),
        Endpoint("public: production proof page", reverse("production_proof")),
        Endpoint("public api: managed beta readiness", reverse("api_managed_beta")),
        Endpoint("public api: production proof", reverse("api_production_proof")),
        Endpoint("public api: security assurance", "/api/product/security-assurance"),
        Endpoint("public api: procurement evidence", "/api/product/procurement-evidence"),
        Endpoint("public api: operations evidence", "/api/product/operations-evidence"),
        Endpoint("healthz", reverse("healthz")),
        Endpoint("login page", reverse("login")),
        # Launch room.
        Endpoint("launch room index: staff portfolio", reverse("launchroom:index"), "operator"),
        Endpoint("launch room index: buyer with one tenant", reverse("launchroom:index"), "buyer-contoso", 302),
        Endpoint("launch room index: buyer with several tenants", reverse("launchroom:index"), "portfolio-viewer"),
        Endpoint("launch room index: portfolio csv", reverse("launchroom:portfolio_csv"), "operator"),
        Endpoint("launch room: buyer sponsor", reverse("launchroom:room", args=[contoso.slug]), "buyer-contoso"),
        Endpoint("launch room: staff", reverse("launchroom:room", args=[contoso.slug]), "operator"),
        Endpoint("evidence list: buyer", reverse("launchroom:evidence", args=[contoso.slug]), "buyer-contoso"),
        Endpoint(
            "certificate html: buyer",
            reverse("launchroom:certificate", args=[globex.slug, record.pk]),
            "buyer-globex",
        ),
        Endpoint(
            "certificate json: buyer",
            reverse("launchroom:certificate_json", args=[globex.slug, record.pk]),
            "buyer-globex",
        ),
        # The launch packet, and what anyone holding one may fetch without logging in.
        Endpoint("launch packet zip: buyer", reverse("launchroom:packet", args=[globex.slug]), "buyer-globex"),
        Endpoint("public: packet verification page", reverse("verify", args=[verification_code(record.pk)])),
        Endpoint("public: packet key", reverse("packet_key")),
        Endpoint("public: packet verifier script", reverse("packet_verifier")),
        # Platform API.
        Endpoint(
            "api readiness: staff",
            reverse("api_readiness", args=[globex.slug]) + "?stage=paid_beta",
            "operator",
        ),
        Endpoint(
            "api readiness: member",
            reverse("api_readiness", args=[globex.slug]) + "?stage=paid_beta",
            "buyer-globex",
        ),
        Endpoint(
            "api acceptance list: buyer", f"{reverse('api_launch_acceptance')}?tenant={globex.slug}", "buyer-globex"
        ),
        # Admin.
        Endpoint("admin: index", reverse("admin:index"), "operator"),
        Endpoint("admin: tenant change page", reverse("admin:launchroom_tenant_change", args=[contoso.pk]), "operator"),
    ]
    for model, _model_admin in sorted(model_admins(admin.site), key=lambda pair: pair[0]._meta.label_lower):
        opts = model._meta
        found.append(
            Endpoint(
                f"admin changelist: {opts.label_lower}",
                reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                "operator",
            )
        )
    return found


def count(client: Client, endpoint: Endpoint) -> tuple[int, list[dict[str, str]]]:
    response = client.get(endpoint.url)  # warm-up: session, caches
    assert response.status_code == endpoint.status, f"{endpoint.name}: {endpoint.url} answered {response.status_code}"
    # The launch room keeps its page in the cache after the warm-up: measure a render
    # (tests/test_room_cache.py pins the page served again).
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(endpoint.url)
    assert response.status_code == endpoint.status, f"{endpoint.name}: {endpoint.url} answered {response.status_code}"
    return len(captured.captured_queries), captured.captured_queries


def test_it_runs_exactly_the_pinned_number_of_queries_everywhere(world, db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHER
    settings.PACKET_SIGNING_KEY = PACKET_KEY
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    measured: dict[str, int] = {}
    queries: dict[str, list[dict[str, str]]] = {}
    for endpoint in endpoints(world["tenants"]):
        client = Client()
        if endpoint.user:
            client.force_login(users[endpoint.user])
        measured[endpoint.name], queries[endpoint.name] = count(client, endpoint)

    if query_counts.UPDATING:
        query_counts.record(measured)
        return
    pinned = query_counts.baseline()
    differences = [
        query_counts.describe(name, pinned.get(name), queries[name])
        for name in measured
        if pinned.get(name) != measured[name]
    ]
    assert not differences, "query counts differ from tests/query_counts.json:\n" + "\n\n".join(differences)


def test_it_pins_nothing_that_is_not_measured(world, db):
    """The baseline holds no stale names: each one is an endpoint measured above."""
    names = {e.name for e in endpoints(world["tenants"])}
    assert set(query_counts.baseline()) - names == set()
