"""Stored readiness and its transitions: kept by the services, refreshed by time, shown and served."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from billing.services import billing_fallback_accept
from core.errors import Refused
from evidence.services import evidence_attach
from launchroom import catalog
from launchroom.models import AcceptanceDecision, LaunchStage, ReadinessTransition, Stage, Tenant, TenantReadiness
from launchroom.orderforms.services import order_form_sign
from launchroom.readiness import projection
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide, stage_move
from tests.factories import AcceptanceRecordFactory, countersign, ready_tenant, sign
from tests.launch_helpers import like_demo, module_state

API = "/api/platform/tenants/{}/transitions"
SLUGS = ("contoso", "globex", "initech", "northwind")


_BUILT: dict[str, int] = {}
# The four demo tenants in their states (docs/RULES.md section 9), with their stored rows: built
# once for the module, in a transaction rolled back after it; each test's changes are rolled back.
_demo = module_state(lambda: _BUILT.update({slug: like_demo(slug).pk for slug in SLUGS}))


@pytest.fixture
def demo_tenants(db):
    return {slug: Tenant.objects.get(pk=pk) for slug, pk in _BUILT.items()}


def user(name):
    return get_user_model().objects.get(username=name)


def stored(tenant) -> TenantReadiness:
    return TenantReadiness.objects.get(tenant=tenant)


# The row follows every service ---------------------------------------------------------------


def test_it_stores_what_a_fresh_evaluation_says_for_every_demo_tenant(demo_tenants):
    now = timezone.now()
    assert projection.check(now=now) == projection.CheckResult()  # nothing due, nothing differs
    globex = stored(demo_tenants["globex"])
    assert (globex.decision, globex.running_stage, globex.running_decision) == ("go", "paid_beta", "go")
    assert globex.snapshot_sha256 == evaluate(demo_tenants["globex"]).snapshot_sha256()
    initech = stored(demo_tenants["initech"])
    assert (initech.decision, initech.running_decision, initech.fallen_to_hold) == ("hold", "go", False)
    assert initech.gate_4 == "missing" and ",Finance owner," in initech.waiting_on
    # Valid until the oldest evidence (one day old) reaches its 30-day limit.
    assert timedelta(days=28) < globex.valid_until - now <= timedelta(days=29)


def test_it_records_a_transition_for_each_service_that_changes_readiness(db, staff):
    tenant = ready_tenant(
        "umbrella",
        name="Umbrella Corporation",
        without=["order-form", "billing-acceptance", "security-procurement-pack"],
    )
    projection.refresh()  # its first evaluation
    buyer = tenant.memberships.get().user
    order_form_sign(
        order_form=tenant.order_forms.get(), approval_reference="PO-1", signer_name="Bea Buyer", by=staff["commercial"]
    )
    billing_fallback_accept(profile=tenant.billing_profile, by=buyer)
    for requirement in catalog.gate("security-procurement-pack").attachment_requirements:
        evidence_attach(
            tenant=tenant,
            gate_key="security-procurement-pack",
            requirement_key=requirement.key,
            by=staff["operator"],
            output=f"{requirement.label}, read by the buyer",
        )
    gate_decide(
        tenant=tenant, gate_key="security-procurement-pack", decision="accepted", note="Read.", by=staff["security"]
    )
    record = sign(tenant, LaunchStage.PAID_BETA, by=buyer)
    countersign(record, by=staff["operator"])
    stage_move(tenant=tenant, to_stage=Stage.PAID_BETA, reason="Signed acceptance.", by=staff["operator"])

    transitions = list(ReadinessTransition.objects.filter(tenant=tenant).order_by("at", "id"))
    assert [(t.cause_kind, t.actor) for t in transitions] == [
        ("refresh_readiness", None),
        ("order_form_sign", staff["commercial"]),
        ("billing_fallback_accept", buyer),
        ("evidence_attach", staff["operator"]),
        ("gate_decide", staff["security"]),
        ("acceptance_sign", buyer),
        ("acceptance_countersign", staff["operator"]),
        ("stage_move", staff["operator"]),
    ]
    assert transitions[0].decision_before == ""
    # Its way to go (docs/RULES.md 5.9): the buyer's signature left it on hold, awaiting the
    # operator, whose countersignature turned hold into go; then the stage move started the beta.
    signed, to_go = transitions[-3], transitions[-2]
    assert signed.decision_after == "hold" and signed.gates_changed[0]["after"] == "ready_for_review"
    assert (to_go.decision_before, to_go.decision_after) == ("hold", "go")
    assert to_go.gates_changed == [
        {
            "key": "customer-acceptance",
            "number": 9,
            "title": to_go.gates_changed[0]["title"],
            "before": "ready_for_review",
            "after": "accepted",
        }
    ]
    last = transitions[-1]
    assert (last.running_before, last.running_after) == ("", "go")
    assert stored(tenant).snapshot_sha256 == evaluate(tenant).snapshot_sha256()


def test_it_writes_no_transition_when_nothing_changed_and_nothing_when_refused(demo_tenants, staff):
    contoso = demo_tenants["contoso"]
    before = ReadinessTransition.objects.filter(tenant=contoso).count()

    with pytest.raises(Refused):
        gate_decide(tenant=contoso, gate_key="order-form-scope", decision="accepted", note="n", by=staff["operator"])
    # Re-accepting an accepted gate changes no status.
    gate_decide(tenant=contoso, gate_key="public-deployment", decision="accepted", note="again", by=staff["operator"])

    assert ReadinessTransition.objects.filter(tenant=contoso).count() == before


def test_it_records_a_gate_falling_back_with_its_actor(demo_tenants, staff):
    globex = demo_tenants["globex"]
    gate_decide(
        tenant=globex, gate_key="tenant-access-proof", decision="reopened", note="recheck", by=staff["operator"]
    )

    row = stored(globex)
    assert (row.decision, row.running_decision, row.fallen_to_hold) == ("hold", "hold", True)
    assert row.held_since is not None
    latest = ReadinessTransition.objects.filter(tenant=globex).first()
    assert (latest.decision_before, latest.decision_after) == ("go", "hold")
    assert (latest.running_before, latest.running_after) == ("go", "hold")
    assert [(g["number"], g["before"], g["after"]) for g in latest.gates_changed] == [
        (5, "accepted", "ready_for_review")
    ]
    assert latest.actor == staff["operator"] and latest.cause.startswith("gate_decide: reopened gate 5")


# Time and the refresh ------------------------------------------------------------------------


def test_it_refreshes_a_row_once_time_alone_changed_it(db):
    tenant = ready_tenant(
        "ageing",
        stage=Stage.PAID_BETA,
        ages={("tenant-access-proof", "access-smoke"): 29},
        accepted_for=[LaunchStage.PAID_BETA],
    )
    projection.refresh(everything=True)
    row = stored(tenant)
    assert row.decision == "go"
    due_at = row.valid_until
    assert timedelta(hours=23) < due_at - timezone.now() < timedelta(days=1, minutes=1)

    # Not yet due: nothing to do, and the stored row still equals a fresh evaluation.
    assert projection.refresh(now=due_at).evaluated == 0
    assert projection.check(now=due_at) == projection.CheckResult()

    later = due_at + timedelta(seconds=1)
    assert projection.check(now=later).due == ["ageing"]
    result = projection.refresh(now=later)

    assert result.evaluated == 1
    [transition] = result.transitions
    assert (transition.decision_before, transition.decision_after) == ("go", "hold")
    assert transition.cause_kind == "time" and transition.actor is None
    assert "Authenticated tenant access proof" in transition.cause and "passed 30 days" in transition.cause
    row = stored(tenant)
    assert row.fallen_to_hold and row.held_since == later and row.gate_5 == "stale"
    assert projection.check(now=later) == projection.CheckResult()


def test_it_checks_without_writing_and_exits_non_zero_naming_a_differing_tenant(demo_tenants, capsys):
    call_command("refresh_readiness", "--check")
    assert "ok (0 due)" in capsys.readouterr().out

    # Derived rows may be written in bulk; here one is made due and one is tampered with.
    TenantReadiness.objects.filter(tenant=demo_tenants["northwind"]).update(
        valid_until=timezone.now() - timedelta(days=1)
    )
    TenantReadiness.objects.filter(tenant=demo_tenants["globex"]).update(gate_3="missing")
    with pytest.raises(CommandError) as raised:
        call_command("refresh_readiness", "--check")
    assert raised.value.returncode == 1
    assert "globex" in str(raised.value) and "northwind" not in str(raised.value)
    captured = capsys.readouterr()
    assert "due: northwind" in captured.out and "differs: globex (gate_3)" in captured.err
    assert stored(demo_tenants["globex"]).gate_3 == "missing"  # --check wrote nothing

    call_command("refresh_readiness", "--all")
    call_command("refresh_readiness", "--check")
    assert stored(demo_tenants["globex"]).gate_3 == "accepted"


def test_it_refuses_bad_options(db):
    for args in (["--check", "--all"], ["--loop", "-1"], ["--batch-size", "0"]):
        with pytest.raises(CommandError):
            call_command("refresh_readiness", *args)


def test_it_fills_rows_for_tenants_written_without_a_service(db):
    tenant = ready_tenant("raw", accepted_for=[LaunchStage.PAID_BETA])
    assert not TenantReadiness.objects.filter(tenant=tenant).exists()
    assert projection.check().due == ["raw"]

    call_command("refresh_readiness")

    assert stored(tenant).decision == "go"
    first = ReadinessTransition.objects.get(tenant=tenant)
    assert first.cause == "refresh_readiness: first evaluation"


# The transitions API --------------------------------------------------------------------------


def test_it_serves_a_tenants_transitions_newest_first(client, demo_tenants):
    client.force_login(user("buyer-globex"))

    data = client.get(API.format("globex")).json()

    rows = data["transitions"]
    assert data["tenant"] == "globex" and data["more"] is False
    assert rows == sorted(rows, key=lambda r: (r["at"], r["id"]), reverse=True)
    # A buyer reads the room's words (tests/test_transitions_api_words.py).
    assert rows[0]["cause"] == "Thesmios moved your launch to another stage" and rows[0]["running_after"] == "go"
    assert rows[-1]["decision_before"] is None
    assert ReadinessTransition.objects.filter(tenant=demo_tenants["globex"]).count() == len(rows)


def test_it_filters_transitions_since_a_time(client, demo_tenants, staff):
    globex = demo_tenants["globex"]
    cut = timezone.now()
    gate_decide(
        tenant=globex, gate_key="tenant-access-proof", decision="reopened", note="recheck", by=staff["operator"]
    )
    client.force_login(staff["support"])

    for since in (cut.isoformat(), cut.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")):
        rows = client.get(API.format("globex"), {"since": since}).json()["transitions"]
        assert [r["cause_kind"] for r in rows] == ["gate_decide"]
    assert len(client.get(API.format("globex"), {"since": "2000-01-01"}).json()["transitions"]) > 1
    # The widest real offsets are read as the same moment in UTC.
    east, west = (cut + timedelta(hours=14)).strftime("%Y-%m-%dT%H:%M:%S.%f+14:00"), cut - timedelta(hours=12)
    for since in (east, west.strftime("%Y-%m-%dT%H:%M:%S.%f-12:00")):
        answer = client.get(API.format("globex"), {"since": since}).json()
        assert [r["cause_kind"] for r in answer["transitions"]] == ["gate_decide"]
        assert answer["since"] == cut.astimezone(UTC).isoformat()


# Offsets past 15:59 were a DataError (500) on PostgreSQL; years past 9999 or before 1 in UTC
# cannot be held by either database.
OUT_OF_RANGE = ["2026-01-01T00:00:00+23:59", "2026-01-01T00:00:00-15:00", "2026-01-01T00:00:00+14:00:01"]
OUT_OF_RANGE += ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "2026-01-01T25:00", "\x00", "9" * 60, *OUT_OF_RANGE])
def test_it_answers_400_for_a_bad_since(client, demo_tenants, since):
    client.force_login(user("buyer-globex"))

    response = client.get(API.format("globex"), {"since": since})

    assert response.status_code == 400
    assert response.json()["errors"]["since"]


def test_it_keeps_each_tenants_transitions_to_its_members(client, demo_tenants):
    assert client.get(API.format("globex")).status_code == 401
    client.force_login(user("buyer-contoso"))
    assert client.get(API.format("globex")).status_code == 404
    assert client.get(API.format("no-such-tenant")).status_code == 404
    assert client.get(API.format("contoso")).status_code == 200
    assert client.post(API.format("contoso")).status_code == 405


# Admin, launch room, portfolio ----------------------------------------------------------------


def test_it_lists_transitions_in_the_admin_and_on_the_tenant_page(client, demo_tenants, staff):
    client.force_login(staff["operator"])

    listing = client.get("/admin/launchroom/readinesstransition/?cause=acceptance_sign")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Globex Corporation" in html and "Contoso" not in html and "Northwind" not in html

    page = client.get(f"/admin/launchroom/tenant/{demo_tenants['globex'].pk}/change/").content.decode()
    assert "readiness transitions (newest first)" in page.lower()
    assert "stage_move: setup to paid_beta" in page
    assert client.get("/admin/launchroom/readinesstransition/add/").status_code == 403


def test_it_shows_the_buyer_their_own_transitions_in_buyer_words(client, demo_tenants):
    client.force_login(user("buyer-globex"))

    html = client.get("/launch-room/globex/").content.decode()

    section = html[html.index('id="readiness-changes"') :]
    assert "Your paid beta (invoice-led) started" in section
    assert "Your launch became ready (go) for the paid beta (invoice-led)" in section
    assert "Your acceptance decision was recorded." in section
    assert "Thesmios countersigned your acceptance." in section
    assert "Gate 9 (Customer acceptance record): now accepted, was" in section
    # Staff usernames and service names stay out of the buyer's words.
    assert "gate_decide" not in section and "operator" not in section
    assert client.get("/launch-room/contoso/").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?gate=billing-route", ["initech", "northwind"]),
        ("?gate=customer-acceptance&gate_status=missing", ["contoso", "initech", "northwind"]),
        ("?gate=customer-acceptance&gate_status=accepted", ["globex"]),
        ("?gate_status=ready_for_review", ["northwind"]),
        ("?waiting_on=Buyer", ["contoso", "initech", "northwind"]),
        ("?waiting_on=Finance+owner", ["initech", "northwind"]),
        ("?q=glob", ["globex"]),
        ("?q=INITECH", ["initech"]),
        ("?decision=go&q=north", []),
    ],
)
def test_it_filters_the_portfolio_in_sql(client, staff, demo_tenants, query, expected):
    client.force_login(staff["operator"])

    html = client.get("/launch-room/" + query).content.decode()

    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert sorted(s for s in SLUGS if f"/launch-room/{s}/" in body) == expected


def test_it_filters_by_fell_to_hold_since_and_sorts(client, staff, demo_tenants):
    client.force_login(staff["operator"])
    today = timezone.now().date()

    def listed(query: str) -> list[str]:
        html = client.get("/launch-room/" + query).content.decode()
        body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        found = [s for s in SLUGS if f"/launch-room/{s}/" in body]
        return sorted(found, key=lambda s: body.index(f"/launch-room/{s}/"))

    assert listed("?sort=-name") == ["northwind", "initech", "globex", "contoso"]
    assert listed("?sort=decision")[-1] == "globex"  # hold first
    assert len(listed("?sort=valid_until")) == 4
    assert listed(f"?fell_since={today}") == []

    globex = demo_tenants["globex"]
    current = globex.acceptance_records.get()
    AcceptanceRecordFactory(
        tenant=globex,
        decision=AcceptanceDecision.SUPERSEDED,
        order_form=current.order_form,
        supersedes=current,
    )
    projection.refresh(everything=True)

    assert listed(f"?fell_since={today}") == ["globex"]
    assert listed(f"?fell_since={today + timedelta(days=1)}") == []
    assert "Enter a valid date." in client.get("/launch-room/?fell_since=soon").content.decode()
    assert "Select a valid choice" in client.get("/launch-room/?sort=random").content.decode()
    response = client.get(f"/launch-room/portfolio.csv?fell_since={today}")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["slug"], r["fallen_to_hold"], r["running_decision"]) for r in table] == [("globex", "yes", "hold")]


def test_it_shows_recent_transitions_on_the_portfolio(client, staff, demo_tenants):
    for _ in range(3):  # six more transitions: more than the portfolio shows
        for decision in ("reopened", "accepted"):
            gate_decide(
                tenant=demo_tenants["globex"],
                gate_key="tenant-access-proof",
                decision=decision,
                note="recheck",
                by=staff["operator"],
            )
    assert ReadinessTransition.objects.count() > 10
    client.force_login(staff["operator"])

    html = client.get("/launch-room/").content.decode()

    section = html[html.index('id="transitions-heading"') :]
    assert "stage_move: setup to private_beta" in section
    assert section.count("<tr>") == 1 + 10
