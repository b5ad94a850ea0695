"""make bench's notify_sweep measurement runs, on a small bench data set: the reminder sweep
loads only the tenants whose stored valid until falls within 7 days and costs one query per
reminder it writes (the INSERT ... SELECT of its recipients), on top of a fixed load."""

from __future__ import annotations

import pytest

from bench import projection as projection_bench
from bench import run as bench
from launchroom.models import Notification

pytestmark = pytest.mark.django_db

TENANTS = 10  # bench-00005 is the one tenant in ten with evidence 3-4 days from its limit
# The tenants due, with what readiness reads of them (load_tenants(lean=True)): the tenants,
# their order forms, evidence, gate decisions and acceptance records.
LOAD_QUERIES = 5


def test_the_notify_sweep_measurement_runs_and_costs_one_query_per_reminder():
    builder = bench.Builder()
    builder.tenants(0, TENANTS, attachments=bench.ATTACHMENTS_PER_TENANT)
    projection_bench.refresh_all()
    kept = Notification.objects.count()

    sweep = bench.measure_notify_sweep()

    assert (sweep["tenants"], sweep["tenants_loaded"]) == (TENANTS, 1)
    assert sweep["notifications"] > 0
    # One operator in the bench: each reminder is one row and one query.
    assert sweep["queries"] == LOAD_QUERIES + sweep["notifications"]
    assert sweep["seconds"] >= 0
    assert Notification.objects.count() == kept, "measured in a transaction that is rolled back"
