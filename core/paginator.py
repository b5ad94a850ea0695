"""A paginator for admin changelists over big tables.

``COUNT(*)`` on PostgreSQL reads the whole table, so an unfiltered changelist of a big
table pays a full scan on every page view. The planner already keeps an estimate of each
table's rows in ``pg_class.reltuples`` (refreshed by ANALYZE and autovacuum); for an
unfiltered list that estimate is plenty to draw the page links. Filtered lists and small
tables, where the exact figure is cheap and matters, still get ``count()``.

Use with ``show_full_result_count = False`` so the admin does not count the table a
second time for its "N total" link.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """Counts an unfiltered PostgreSQL table from ``pg_class.reltuples`` once it holds at
    least ``estimate_threshold`` rows; counts exactly everywhere else."""

    estimate_threshold = 10_000

    @cached_property
    def count(self) -> int:
        counted = self.estimated_count()
        return counted if counted is not None else super().count

    def estimated_count(self) -> int | None:
        """For a plain list on PostgreSQL: the planner's estimate when the table holds at least
        ``estimate_threshold`` rows, else its exact count, both in one query (so the changelist
        costs as many queries as anywhere else). None when an estimate would not describe the
        list; the caller then counts the usual way."""
        qs: Any = self.object_list
        if not isinstance(qs, QuerySet):
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        query = qs.query
        # Only a plain "every row of one table" query has the table's row count.
        if (
            query.where
            or query.distinct
            or query.combinator
            or query.is_sliced
            or query.extra
            or query.values_select
            # An aggregate annotation groups by the primary key (one row per row, so the
            # count holds); any other grouping does not.
            or query.group_by not in (None, True)
        ):
            return None
        table = connection.ops.quote_name(qs.model._meta.db_table)
        # The table name is the model's own, quoted; it is never user input.
        # reltuples is -1 until the table is first analysed: then it counts exactly too.
        sql = "SELECT CASE WHEN reltuples >= %s THEN reltuples::bigint ELSE (SELECT COUNT(*) FROM {}) END "
        sql = sql.format(table) + "FROM pg_class WHERE oid = to_regclass(%s)"
        with connection.cursor() as cursor:
            cursor.execute(sql, [self.estimate_threshold, table])
            row = cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])
