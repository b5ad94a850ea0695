"""Demo builds recorded once and written back (tests/build_replay.py): the same rows as a build,
only on the same database, and a loud failure when writing back does not give the build's rows."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from launchroom import demo
from launchroom.models import Tenant
from tests import build_replay, migrated_once

pytestmark = pytest.mark.django_db


def rows_now() -> build_replay.State:
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    return build_replay.read(connection.connection)


def without_volatile(state: build_replay.State) -> dict[str, Any]:
    volatile = build_replay._volatile()
    kept = {}
    for table, (columns, rows) in state.items():
        keep = [i for i, column in enumerate(columns) if column not in volatile.get(table, ())]
        kept[table] = {rowid: [row[i] for i in keep] for rowid, row in rows.items()}
    return kept


class Counted:
    """The build, counting how often it really ran."""

    def __init__(self, staff: dict[str, Any], slug: str = "contoso") -> None:
        self.staff, self.slug, self.runs = staff, slug, 0

    def __call__(self) -> int:
        self.runs += 1
        return demo.BUILDERS[self.slug](self.staff).pk


def build_and_undo(name: str, run: Counted) -> tuple[int, build_replay.State]:
    """Build in a savepoint, read every row (SQLite), and roll the build back."""
    with transaction.atomic():
        pk = build_replay.build(name, run)
        state = rows_now() if migrated_once.can_copy() else {}
        transaction.set_rollback(True)
    return pk, state


def test_the_same_build_on_the_same_database_is_written_back_with_the_same_rows(staff) -> None:
    if not migrated_once.can_copy():
        pytest.skip("builds are recorded on the in-memory SQLite test database only")
    run = Counted(staff)
    name = "contoso for test_the_same_build_on_the_same_database"
    first_pk, built = build_and_undo(name, run)
    assert not Tenant.objects.filter(pk=first_pk).exists()

    with transaction.atomic():
        pk = build_replay.build(name, run)
        written_back = rows_now()
        assert Tenant.objects.get(pk=pk).slug == "contoso"
        transaction.set_rollback(True)

    assert run.runs == 1
    assert pk == first_pk
    assert without_volatile(written_back) == without_volatile(built)
    # Not only the masked columns: every stored value the build wrote is the recorded one.
    tenants = "launchroom_tenant"
    assert written_back[tenants][1][pk] == built[tenants][1][pk]


def test_a_build_on_a_different_database_runs_again(staff) -> None:
    run = Counted(staff, "northwind")
    name = "northwind for test_a_build_on_a_different_database"
    build_and_undo(name, run)
    demo.new_tenant("acme", "Acme Health", staff)
    build_and_undo(name, run)
    build_and_undo(name, run)  # on the database with Acme: written back
    expected = 2 if migrated_once.can_copy() else 3  # PostgreSQL builds every time
    assert run.runs == expected


def test_a_change_that_does_not_give_the_builds_rows_fails_loudly(staff) -> None:
    if not migrated_once.can_copy():
        pytest.skip("builds are recorded on the in-memory SQLite test database only")
    run = Counted(staff, "northwind")
    name = "northwind for test_a_change_that_does_not_give"
    build_and_undo(name, run)
    [key] = [key for key in build_replay._RECORDED if key[0] == name]
    recorded = build_replay._RECORDED[key]
    inserted = dict(recorded.inserted)
    inserted["launchroom_tenant"] = []  # as if the recording had lost the tenant's row
    build_replay._RECORDED[key] = dataclasses.replace(recorded, inserted=inserted)
    try:
        with pytest.raises(AssertionError, match="did not give the database it left"), transaction.atomic():
            build_replay.build(name, run)
    finally:
        build_replay._RECORDED[key] = recorded
    assert run.runs == 1
