"""make bench's notify_sweep measurement runs, on small bench data sets: the reminder sweep
loads only the tenants whose stored valid until falls within 7 days and writes every reminder
of a deciding role with two queries (its members with what they were already told, and one
insert), on top of a fixed load: the same count for 30 tenants as for 10."""

from __future__ import annotations

import pytest

from bench import projection as projection_bench
from bench import run as bench
from launchroom.models import Notification

pytestmark = pytest.mark.django_db

# bench-00005, -00015, ... are the one tenant in ten with evidence 3-4 days from its limit.
TENANTS = 10
# The tenants due, with what readiness reads of them (load_tenants(lean=True)): the tenants,
# their order forms, evidence, gate decisions and acceptance records.
LOAD_QUERIES = 5
# The bench's evidence reaching its limit is all on gates the operator decides: one read of
# the operators with what they were already told, one insert.
TELLING = 2


def test_the_notify_sweep_measurement_runs_and_costs_the_same_queries_for_more_tenants():
    builder = bench.Builder()
    builder.tenants(0, TENANTS, attachments=bench.ATTACHMENTS_PER_TENANT)
    projection_bench.refresh_all()
    kept = Notification.objects.count()

    sweep = bench.measure_notify_sweep()

    assert (sweep["tenants"], sweep["tenants_loaded"]) == (TENANTS, 1)
    assert sweep["notifications"] > 0
    assert sweep["queries"] == LOAD_QUERIES + TELLING
    assert sweep["seconds"] >= 0
    assert Notification.objects.count() == kept, "measured in a transaction that is rolled back"

    builder.tenants(TENANTS, 3 * TENANTS, attachments=bench.ATTACHMENTS_PER_TENANT)
    projection_bench.refresh_all()

    more = bench.measure_notify_sweep()

    assert (more["tenants"], more["tenants_loaded"]) == (3 * TENANTS, 3)
    # One operator in the bench: a row per reminder, three times as many, in as many queries.
    assert more["notifications"] == 3 * sweep["notifications"]
    assert more["queries"] == sweep["queries"]
