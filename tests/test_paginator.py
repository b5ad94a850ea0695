"""The estimated-count paginator for big admin changelists."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from core.paginator import EstimatedCountPaginator
from launchroom.models import Tenant


class LowThreshold(EstimatedCountPaginator):
    estimate_threshold = 10


def make_tenants(n: int, start: int = 0) -> None:
    Tenant.objects.bulk_create(Tenant(slug=f"t{i:05d}", name=f"Tenant {i:05d}") for i in range(start, start + n))


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Tenant._meta.db_table)}")


def counted(paginator: EstimatedCountPaginator) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        count = paginator.count
    return count, [q["sql"] for q in ctx.captured_queries]


def test_it_counts_a_small_table_exactly(db: Any) -> None:
    make_tenants(25)
    paginator = EstimatedCountPaginator(Tenant.objects.all(), 10)
    count, queries = counted(paginator)
    assert count == 25
    assert paginator.num_pages == 3
    assert len(queries) == 1  # on PostgreSQL the estimate and the exact count are one query
    assert "COUNT(" in queries[0].upper()


def test_it_pages_a_plain_list(db: Any) -> None:
    paginator = EstimatedCountPaginator([1, 2, 3], 2)
    assert paginator.count == 3
    assert paginator.estimated_count() is None


def test_it_never_estimates_off_postgresql(db: Any) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("checks the fallback of the other databases")
    make_tenants(25)
    paginator = LowThreshold(Tenant.objects.all(), 10)
    assert paginator.estimated_count() is None
    assert paginator.count == 25


@pytest.mark.postgres
def test_it_reads_the_estimate_of_an_unfiltered_big_table(db: Any) -> None:
    make_tenants(10_000)
    analyze()
    paginator = EstimatedCountPaginator(Tenant.objects.order_by("name"), 100)
    count, queries = counted(paginator)
    assert count == 10_000
    assert len(queries) == 1
    assert "pg_class" in queries[0]
    assert paginator.num_pages == 100


@pytest.mark.postgres
def test_it_keeps_the_estimate_until_the_next_analyze(db: Any) -> None:
    """Proof that the figure is the planner's and not a count: rows added since are not in it."""
    make_tenants(30)
    analyze()
    make_tenants(5, start=30)
    assert LowThreshold(Tenant.objects.all(), 10).count == 30
    assert EstimatedCountPaginator(Tenant.objects.all(), 10).count == 35  # below the default threshold


@pytest.mark.postgres
def test_it_keeps_the_estimate_for_a_list_annotated_per_row(db: Any) -> None:
    make_tenants(30)
    analyze()
    qs = Tenant.objects.select_related("commercial_owner").annotate(n=Count("evidence")).order_by("name")
    assert LowThreshold(qs, 10).estimated_count() == 30
    make_tenants(5, start=30)  # below the threshold the same query counts exactly
    assert EstimatedCountPaginator(qs, 10).estimated_count() == 35


@pytest.mark.postgres
def test_it_counts_a_filtered_list_exactly(db: Any) -> None:
    make_tenants(30)
    analyze()
    paginator = LowThreshold(Tenant.objects.filter(slug__startswith="t0001"), 10)
    count, queries = counted(paginator)
    assert count == 10
    assert len(queries) == 1
    assert "pg_class" not in queries[0]
    for qs in (
        Tenant.objects.distinct(),
        Tenant.objects.values("stage").annotate(n=Count("id")).order_by("stage"),
        Tenant.objects.all()[:5],
        Tenant.objects.extra(where=["1 = 1"]),
    ):
        assert LowThreshold(qs, 10).estimated_count() is None
