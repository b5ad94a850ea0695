"""GET /api/platform/tenants/<slug>/readiness."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from launchroom import demo
from launchroom.models import ApiToken, LaunchStage
from launchroom.readiness.evaluation import evaluate
from tests.factories import TenantFactory, ready_tenant
from tests.launch_helpers import like_demo


def url(slug: str, stage: str | None = None) -> str:
    return f"/api/platform/tenants/{slug}/readiness" + (f"?stage={stage}" if stage else "")


@pytest.fixture
def globex(staff):
    return like_demo("globex")


@pytest.fixture
def initech(staff):
    return like_demo("initech")


def test_it_gives_staff_the_readiness_as_json(client, staff, globex):
    client.force_login(staff["support"])

    response = client.get(url("globex"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    data = response.json()
    assert data == evaluate(globex).as_json()
    assert (data["tenant"], data["stage"], data["decision"]) == ("globex", "paid_beta", "go")
    assert {"tenant", "stage", "decision", "gates", "hold_reasons", "do_not_claim", "next_actions"} == set(data)
    assert len(data["gates"]) == 10
    gate = data["gates"][0]
    assert {"key", "title", "status", "effect", "reasons", "requirements"} <= set(gate)
    assert all({"key", "met"} <= set(r) for r in gate["requirements"])


def test_it_gives_a_member_their_tenant_for_the_requested_stage(client, initech):
    client.force_login(get_user_model().objects.get(username="buyer-initech"))

    default = client.get(url("initech")).json()
    private = client.get(url("initech", "private_beta")).json()

    assert (default["stage"], default["decision"]) == ("paid_beta", "hold")
    assert any("run a no-charge private beta only" in r for r in default["hold_reasons"])
    billing = next(g for g in default["gates"] if g["key"] == "billing-route")
    assert billing["status"] == "missing"
    assert [r["met"] for r in billing["requirements"]] == [False, False, False]
    assert (private["stage"], private["decision"]) == ("private_beta", "go")
    assert "Finance owner" in default["next_actions"]


def test_it_answers_the_four_demo_decisions(client, staff):
    for slug in demo.BUYER_NAMES:
        like_demo(slug)
    client.force_login(staff["operator"])

    decisions = {
        slug: (client.get(url(slug)).json()["stage"], client.get(url(slug)).json()["decision"])
        for slug in demo.BUYER_NAMES
    }

    assert decisions == {
        "northwind": ("private_beta", "hold"),
        "contoso": ("paid_beta", "hold"),
        "globex": ("paid_beta", "go"),
        "initech": ("paid_beta", "hold"),
    }
    assert client.get(url("initech", "private_beta")).json()["decision"] == "go"


def test_it_answers_400_to_a_bad_stage(client, staff, globex):
    client.force_login(staff["operator"])

    response = client.get(url("globex", "live"))

    assert response.status_code == 400
    assert response.json()["errors"]["stage"] == ["Choose one of private_beta, paid_beta."]


def test_it_answers_401_to_an_anonymous_caller(client, globex):
    response = client.get(url("globex"))

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "decision" not in response.json()


def test_it_answers_401_to_a_bad_token(client, globex):
    response = client.get(url("globex"), headers={"Authorization": "Bearer thes_not-a-token"})

    assert response.status_code == 401


def test_it_answers_404_to_another_tenants_member_as_to_a_missing_tenant(client, globex, initech):
    client.force_login(get_user_model().objects.get(username="buyer-initech"))

    other = client.get(url("globex"))
    missing = client.get(url("no-such-tenant"))
    bad_stage_elsewhere = client.get(url("globex", "live"))

    assert other.status_code == missing.status_code == bad_stage_elsewhere.status_code == 404
    assert other.json() == missing.json() == {"error": "no such tenant"}


def test_it_answers_404_to_staff_for_a_missing_tenant(client, staff):
    client.force_login(staff["operator"])

    assert client.get(url("nowhere")).status_code == 404


def test_it_answers_405_to_a_write(client, staff, globex):
    client.force_login(staff["operator"])

    assert client.post(url("globex")).status_code == 405


def test_it_accepts_a_members_api_token(client, globex):
    buyer = get_user_model().objects.get(username="buyer-globex")
    key = ApiToken.generate_key()
    ApiToken.objects.create(user=buyer, name="ci", prefix=key[:12], key_sha256=ApiToken.hash_key(key))

    response = client.get(url("globex"), headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 200
    assert response.json()["decision"] == "go"


@pytest.mark.parametrize("count", [1, 50])
@pytest.mark.parametrize("who", ["staff", "member"])
def test_it_answers_in_its_pinned_number_of_queries(client, staff, count, who):
    from tests.query_counts import assert_pinned_queries

    tenants = [ready_tenant(f"t{i:02d}", accepted_for=[LaunchStage.PAID_BETA]) for i in range(count)]
    tenant = tenants[-1]
    if who == "staff":
        user = staff["operator"]
    else:
        user = demo.ensure_buyer(tenant, "buyer")
        TenantFactory(slug="unrelated")
    client.force_login(user)

    # session, user, membership (members only) and the five queries of load_tenants
    with assert_pinned_queries(f"api readiness: {who}"):
        response = client.get(url(tenant.slug, LaunchStage.PAID_BETA))

    assert response.status_code == 200
    assert response.json()["decision"] == "go"
