"""The public pages and their JSON twins (docs/RULES.md section 6): no login, no tenant data."""

from __future__ import annotations

import html
import re

import pytest

from launchroom import catalog, demo
from launchroom.models import Tenant
from launchroom.public import copy, product
from tests.factories import draft_tenant, ready_tenant

PAGES = ["/", "/managed-beta", "/production-proof"]
JSON = [
    "/api/product/managed-beta-readiness",
    "/api/product/production-proof",
    "/api/product/security-assurance",
    "/api/product/procurement-evidence",
    "/api/product/operations-evidence",
]


def text_of(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


@pytest.mark.parametrize("path", PAGES)
def test_it_serves_each_page_without_login(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in response


@pytest.mark.parametrize("path", JSON)
def test_it_serves_each_json_without_login(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()


@pytest.mark.parametrize("path", PAGES + JSON)
def test_it_shows_no_tenant_data(client, db, path):
    # The demo's four tenants by name, two with a signed order form ("PO-...").
    for slug in ("northwind", "initech"):
        draft_tenant(slug)
    for slug in ("contoso", "globex"):
        ready_tenant(slug)
    assert Tenant.objects.filter(slug__in=demo.BUYER_NAMES).count() == len(demo.BUYER_NAMES)

    body = client.get(path).content.decode()

    for needle in ("northwind", "Northwind", "contoso", "Contoso", "globex", "Globex", "initech", "Initech", "PO-"):
        assert needle not in body


def test_it_carries_every_gates_seed_texts_in_the_json(client, db):
    data = client.get("/api/product/managed-beta-readiness").json()

    assert [g["key"] for g in data["gates"]] == [g.key for g in catalog.GATES]
    for published, gate in zip(data["gates"], catalog.GATES, strict=True):
        assert published["number"] == gate.number
        assert published["title"] == gate.title
        assert published["summary"] == gate.summary
        assert published["owner"] == gate.owner
        assert published["audience"] == gate.audience
        assert published["acceptance"] == gate.acceptance
        assert published["required_evidence"] == list(gate.required_evidence)
        assert published["if_missing"] == gate.if_missing
        assert published["effect"] == str(gate.effect)
        assert [r["key"] for r in published["requirements"]] == [r.key for r in gate.requirements]


def test_it_carries_the_counts_commands_and_boundary_in_the_json(client, db):
    data = client.get("/api/product/managed-beta-readiness").json()

    assert (
        data["counts"]
        == copy.counts()
        == {
            "launch_gates": 10,
            "evidence_packs": 9,
            "proofs": 3,
            "excluded_claims": 4,
        }
    )
    assert [c["name"] for c in data["commands"]["items"]] == [
        "check_managed_beta_readiness",
        "launch_proof_bundle",
        "operator_launch_proof",
        "launch_acceptance",
    ]
    assert data["commands"]["items"][1]["command"] == copy.COMMANDS[1].command
    assert data["boundary"] == {"heading": copy.PAGE["boundary_heading"], "text": copy.PAGE["boundary"]}
    assert data["excluded_claims"] == list(catalog.STANDING_EXCLUSIONS)
    assert data["decision"]["go"] == copy.PAGE["go"]
    assert data["decision"]["hold"] == copy.PAGE["hold"]
    assert data["decision"]["do_not_claim"] == copy.PAGE["do_not_claim"]
    assert (data["title"], data["tagline"], data["lead"]) == (
        copy.PAGE["title"],
        copy.PAGE["tagline"],
        copy.PAGE["lead"],
    )


def test_it_rebuilds_the_seed_page_from_the_catalog(client, db):
    text = text_of(client.get("/managed-beta"))

    for phrase in (
        copy.PAGE["title"],
        copy.PAGE["tagline"],
        copy.PAGE["lead"],
        "10 launch gates",
        "9 evidence packs",
        "3 customer/operator proofs",
        "4 excluded launch claims",
        "Launch decision",
        copy.PAGE["decision_heading"],
        copy.PAGE["go"],
        copy.PAGE["hold"],
        copy.PAGE["do_not_claim"],
        "Required evidence",
        "If missing",
        copy.PAGE["commands_lead"],
        copy.PAGE["commands_note"],
        copy.PAGE["boundary_heading"],
        copy.PAGE["boundary"],
    ):
        assert phrase in text, phrase
    for gate in catalog.GATES:
        for phrase in (gate.title, gate.summary, gate.owner, gate.acceptance, gate.if_missing, *gate.required_evidence):
            assert phrase in text, phrase
    for command in (*copy.COMMANDS, copy.ACCEPTANCE_COMMAND):
        assert command.title in text
        assert command.command in text


def test_it_publishes_a_proof_group_for_every_gate(client, db):
    data = client.get("/api/product/production-proof").json()
    text = text_of(client.get("/production-proof"))

    assert [g["key"] for g in data["groups"]] == [g.key for g in catalog.GATES]
    for group, gate in zip(data["groups"], catalog.GATES, strict=True):
        assert group["blockers"]
        assert isinstance(group["fixture_inputs"], list)
        assert isinstance(group["vendor_requirements"], list)
        assert group["mutating_boundary"]
        assert group["if_missing"] == gate.if_missing
        assert gate.title in text
        assert gate.if_missing in text
        for blocker in group["blockers"]:
            assert blocker in text
    assert data["boundary"]["text"] == copy.PAGE["boundary"]
    assert set(product.PROOF_GROUPS_BY_KEY) == set(catalog.GATES_BY_KEY)


@pytest.mark.parametrize(
    ("path", "list_key", "keys"),
    [
        (
            "/api/product/security-assurance",
            "controls",
            {"tenant-isolation", "audit-history", "evidence-hashing", "headers"},
        ),
        ("/api/product/procurement-evidence", "items", {"dpa", "sla", "subprocessors", "privacy", "terms"}),
        ("/api/product/operations-evidence", "processes", {"support", "incident", "status", "backup-drill"}),
    ],
)
def test_it_publishes_the_evidence_packs_with_a_certification_boundary(client, db, path, list_key, keys):
    data = client.get(path).json()

    assert keys <= {entry["key"] for entry in data[list_key]}
    assert data["certification_boundary"].startswith("No external certification")
    if list_key == "items":
        for item in data["items"]:
            assert item["status"]
            assert item["does_not_cover"]


def test_it_states_the_settings_the_portal_runs_with(client, db, settings):
    settings.AXES_FAILURE_LIMIT = 7

    controls = {c["key"]: c for c in client.get("/api/product/security-assurance").json()["controls"]}

    assert "after 7 failures" in controls["authentication"]["detail"]


def test_it_links_every_public_surface_from_home(client, db):
    body = client.get("/").content.decode()

    for path in PAGES[1:] + JSON:
        assert f'href="{path}"' in body


def test_it_refuses_writes_to_public_pages(client, db):
    assert client.post("/managed-beta").status_code == 405
    assert client.post("/api/product/production-proof").status_code == 405
