"""The staff portfolio dashboard at /launch-room/ and its CSV export (issues 3 and 11: stored readiness)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from launchroom import catalog
from launchroom.models import AcceptanceDecision, LaunchStage, Stage, Tenant
from launchroom.portfolio import selectors as portfolio
from launchroom.readiness import projection
from tests.factories import AcceptanceRecordFactory, ready_tenant
from tests.launch_helpers import like_demo, module_state

INDEX = "/launch-room/"
CSV = "/launch-room/portfolio.csv"


SLUGS = ("contoso", "globex", "initech", "northwind")


_BUILT: dict[str, int] = {}
# The four demo tenants in their states (docs/RULES.md section 9), with their stored rows: built
# once for the module, in a transaction rolled back after it; each test's changes are rolled back.
_demo = module_state(lambda: _BUILT.update({slug: like_demo(slug).pk for slug in SLUGS}))


@pytest.fixture
def demo_tenants(db):
    return {slug: Tenant.objects.get(pk=pk) for slug, pk in _BUILT.items()}


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def rows_of(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr")[1:]]


def test_it_shows_staff_every_tenant_against_every_gate(client, staff, demo_tenants):
    client.force_login(staff["finance"])

    response = client.get(INDEX)

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("launchroom:portfolio_csv") in html
    for gate in catalog.GATES:
        assert gate.title in html
    rows = rows_of(html)
    assert len(rows) == 4
    for row, slug in zip(rows, ["contoso", "globex", "initech", "northwind"], strict=True):
        tenant = demo_tenants[slug]
        assert tenant.name in row
        # Ten gate cells plus the decision, each a status in words (a code, the words on hover) and colour.
        assert row.count('class="status status--') >= 11
        assert f'href="{reverse("launchroom:room", args=[slug])}"' in row
        assert f'href="{reverse("admin:launchroom_tenant_change", args=[tenant.pk])}"' in row
    globex_row = next(r for r in rows if "Globex" in r)
    assert '<span class="status status--go">Go</span>' in globex_row
    assert globex_row.count('<span class="status status--accepted" title="Gate ') == 10
    assert 'title="Gate 5 (Authenticated tenant access proof): Accepted">OK</span>' in globex_row
    northwind_row = next(r for r in rows if "Northwind" in r)
    assert '<span class="status status--hold">Hold</span>' in northwind_row
    assert 'class="status status--missing" title="Gate 3 (' in northwind_row
    assert ': Ready for review">Review</span>' in northwind_row
    # The next action and who it waits on.
    assert "waits on Operator" in northwind_row
    assert "Fallen to hold" not in html
    assert "dashboard.css" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["contoso", "globex", "initech", "northwind"]),
        ("?stage=paid_beta", ["globex"]),
        ("?stage=setup", ["contoso", "northwind"]),
        ("?decision=go", ["globex"]),
        ("?decision=hold", ["contoso", "initech", "northwind"]),
        ("?stage=setup&decision=go", []),
        ("?stage=nonsense", ["contoso", "globex", "initech", "northwind"]),
    ],
)
def test_it_filters_by_stage_and_decision(client, staff, demo_tenants, query, expected):
    client.force_login(staff["operator"])

    html = client.get(INDEX + query).content.decode()
    listed = [slug for slug in SLUGS if f"/launch-room/{slug}/" in "".join(rows_of(html))]

    assert sorted(listed) == expected
    if not expected:
        assert "No tenant matches." in html
    if "nonsense" in query:
        assert "Select a valid choice" in html


def test_it_exports_the_same_matrix_as_csv(client, staff, demo_tenants):
    client.force_login(staff["commercial"])

    response = client.get(CSV + "?decision=hold")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="thesmios-portfolio-')
    assert response.streaming
    table = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["slug"] for row in table] == ["contoso", "initech", "northwind"]
    header = list(table[0])
    assert header[:6] == ["tenant", "slug", "stage", "requested_stage", "decision", "fallen_to_hold"]
    assert header[6:16] == [f"{g.number} {g.key}" for g in catalog.GATES]
    assert header[16:] == ["running_decision", "held_since", "waiting_on", "next_action", "valid_until", "computed_at"]
    contoso = table[0]
    assert contoso["decision"] == "hold"
    assert contoso["9 customer-acceptance"] == "missing"
    assert [contoso[f"{g.number} {g.key}"] for g in catalog.GATES[:8]] == ["accepted"] * 8
    initech = table[1]
    assert (initech["stage"], initech["requested_stage"], initech["fallen_to_hold"]) == (
        "private_beta",
        "paid_beta",
        "no",
    )


def test_it_neutralises_formulas_in_the_csv(client, staff):
    tenant = ready_tenant("formula")
    tenant.name = '=HYPERLINK("http://evil")'
    tenant.save()
    projection.refresh(everything=True)
    client.force_login(staff["operator"])

    table = list(csv.DictReader(io.StringIO(body(client.get(CSV)))))

    assert table[0]["tenant"].startswith("'=")


def test_it_hides_the_portfolio_and_its_csv_from_customers(client, demo_tenants):
    buyer = get_user_model().objects.get(username="buyer-globex")
    client.force_login(buyer)

    assert client.get(CSV).status_code == 404
    assert "portfolio.csv" not in client.get(INDEX, follow=True).content.decode()


def test_it_sends_anonymous_visitors_to_log_in(client, db):
    for path in (INDEX, CSV):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_it_flags_a_tenant_fallen_to_hold_at_the_top(client, staff, demo_tenants):
    globex = demo_tenants["globex"]
    current = globex.acceptance_records.get()
    AcceptanceRecordFactory(
        tenant=globex,
        decision=AcceptanceDecision.SUPERSEDED,
        order_form=current.order_form,
        supersedes=current,
    )
    # Written straight, not through a service: the refresh brings the stored row up to date.
    projection.refresh(everything=True)
    client.force_login(staff["operator"])

    html = client.get(INDEX + "?stage=setup").content.decode()

    # Flagged whatever the filter, above the matrix.
    flag = html.index("Fallen to hold")
    assert flag < html.index("<table")
    banner = html[flag : html.index("</section>", flag)]
    assert "Globex Corporation" in banner
    assert "Customer acceptance record:" in banner
    # Initech runs the private beta it is go for; only its requested paid beta is on hold.
    assert "Initech" not in banner
    table = list(csv.DictReader(io.StringIO(body(client.get(CSV)))))
    assert {row["slug"]: row["fallen_to_hold"] for row in table} == {
        "contoso": "no",
        "globex": "yes",
        "initech": "no",
        "northwind": "no",
    }


def test_it_flags_a_beta_tenant_whose_evidence_went_stale(db):
    private = {
        "stage": Stage.PRIVATE_BETA,
        "requested_stage": LaunchStage.PRIVATE_BETA,
        "accepted_for": [LaunchStage.PRIVATE_BETA],
    }
    ready_tenant("stale", **private, ages={("tenant-access-proof", "access-smoke"): 45})
    ready_tenant("fresh", **private)
    ready_tenant("setup-only", ages={("tenant-access-proof", "access-smoke"): 45}, accepted_for=[LaunchStage.PAID_BETA])

    projection.refresh(everything=True)

    fallen, total = portfolio.fallen_banner()

    assert [row.tenant.slug for row in fallen] == ["stale"]
    assert total == 1


def _dashboard_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(INDEX)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured_csv:
        response = client.get(CSV)
        assert response.status_code == 200
        body(response)
    return len(captured), len(captured_csv)


def test_it_keeps_the_query_count_constant_in_the_number_of_tenants(client, staff):
    ready_tenant("first", stage=Stage.PAID_BETA, accepted_for=[LaunchStage.PAID_BETA])
    projection.refresh(everything=True)
    one = _dashboard_queries(client, staff["operator"])

    for i in range(49):
        ready_tenant(
            f"t{i:02d}",
            stage=(Stage.SETUP, Stage.PRIVATE_BETA, Stage.PAID_BETA)[i % 3],
            regulated=i % 2 == 0,
            accepted_for=[LaunchStage.PAID_BETA],
        )
    projection.refresh(everything=True)
    fifty = _dashboard_queries(client, staff["operator"])

    assert one == fifty
    # Session, user, COUNT, the page of tenants with their stored rows, the fallen-to-hold banner,
    # the recent transitions, the navigation's unread count; the CSV: session, user, one
    # streamed query.
    assert fifty == (7, 3)


def test_it_pages_the_matrix_and_keeps_the_filter(client, staff):
    from launchroom.models import Tenant

    in_setup = Tenant.objects.filter(stage="setup").count()  # any other tenants in set-up
    Tenant.objects.bulk_create(Tenant(slug=f"t{i:03d}", name=f"Tenant {i:03d}") for i in range(120))
    client.force_login(staff["operator"])
    first = client.get("/launch-room/", {"stage": "setup"}).content.decode()
    assert len(rows_of(first)) == 100
    assert f"{120 + in_setup} tenants matching the filter, 1–100 shown" in first
    assert 'href="?stage=setup&amp;page=2"' in first
    second = client.get("/launch-room/", {"stage": "setup", "page": 2}).content.decode()
    assert len(rows_of(second)) == 20 + in_setup
    assert "Tenant 119" in second and "Tenant 000" not in second
    # The CSV is never paged: a header and every tenant.
    assert len(list(csv.reader(io.StringIO(body(client.get(CSV)))))) == 1 + Tenant.objects.count()


def test_it_reads_neither_the_stored_json_nor_every_fallen_row_for_the_page(client, staff, demo_tenants):
    """The page shows the gate columns and a few short fields: the kilobytes of JSON in each
    stored row stay unread, and the banner's total is counted, not windowed over every fallen row."""
    client.force_login(staff["operator"])
    with CaptureQueriesContext(connection) as captured:
        assert (
            client.get(INDEX, {"decision": "hold", "gate_status": "missing", "sort": "valid_until"}).status_code == 200
        )

    readiness_reads = [q["sql"] for q in captured if 'FROM "launchroom_tenantreadiness"' in q["sql"]]
    readiness_reads += [q["sql"] for q in captured if 'JOIN "launchroom_tenantreadiness"' in q["sql"]]
    assert len(readiness_reads) == 3  # the COUNT, the page, the banner
    for sql in readiness_reads:
        for column in ("gates", "running_gates", "next_actions", "hold_reasons", "do_not_claim"):
            assert f'"launchroom_tenantreadiness"."{column}"' not in sql, (column, sql[:200])
        assert " OVER " not in sql


def test_it_answers_the_filters_count_and_the_banner_from_indexes(db):
    """On SQLite (the default database) the portfolio's COUNT reads only the filter index and the
    banner only the fallen rows' partial index (PostgreSQL plans its own way on tiny tables)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's query plan")
    count = portfolio.filtered({"decision": "hold", "gate_status": "missing"}).order_by().values("pk")
    assert "USING COVERING INDEX readiness_filter" in count.explain()
    banner = portfolio.fallen_banner_rows()
    assert "USING INDEX readiness_fallen_since" in banner.explain()
