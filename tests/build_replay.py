"""Demo builds recorded once per worker and written back, on the in-memory SQLite test database.

Building a demo tenant runs every service it takes, the in-process operator proof included:
about half a second, and most tests start by building one. The first time a worker builds a
tenant on a given database, what the build changed is recorded row by row (every table: the
rows it added, the columns it changed, the rows it removed, the autoincrement counters). The
next time the same tenant is built on the same database (most often the empty one plus the
staff), the recorded rows are written back instead, in a few milliseconds, and the database is
then compared with the one the build left: any difference fails the test.

"The same database" is every row of every table, compared without its date and time columns
and password hashes: the clock and each hash's salt are all that differ between two tests that
made the same rows. The dates written back are the first build's (minutes old at most); the
build's tenant and every row it made have the same ids as a build would give them.

Not repeated: what a build does outside the database (e-mail in ``mail.outbox``, log lines,
callbacks waiting for a commit). PostgreSQL (CI's second run) builds for real every time, so
the whole suite is also run against real builds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from tests import migrated_once

# table -> (column names, {rowid: row})
State = dict[str, tuple[list[str], dict[int, tuple[Any, ...]]]]


@dataclass(frozen=True)
class _Change:
    deleted: dict[str, list[int]]
    updated: dict[str, list[tuple[int, dict[int, Any]]]]  # table -> [(rowid, {position: value})]
    inserted: dict[str, list[tuple[Any, ...]]]  # table -> [(rowid, *row)]
    sequences: dict[str, int]  # sqlite_sequence after the build
    after: str  # the database's fingerprint after the build
    result: Any


# (what was built, fingerprint of the database it was built on) -> what the build changed
_RECORDED: dict[tuple[str, str], _Change] = {}
_VOLATILE: dict[str, frozenset[str]] = {}
STATS = {"built": 0, "replayed": 0}


def build(name: str, run: Callable[[], Any]) -> Any:
    """``run()`` (a build named ``name``), or what it changed written back when it has run on
    this same database before in this worker. Returns what ``run`` returned."""
    if not migrated_once.can_copy():
        return run()
    connection = connections[DEFAULT_DB_ALIAS]
    connection.ensure_connection()
    raw = connection.connection
    before = read(raw)
    key = (name, fingerprint(before, _sequences(raw)))
    change = _RECORDED.get(key)
    if change is None:
        result = run()
        after, sequences = read(raw), _sequences(raw)
        _RECORDED[key] = _diff(before, after, sequences, fingerprint(after, sequences), result)
        STATS["built"] += 1
        return result
    _write(raw, change)
    now = fingerprint(read(raw), _sequences(raw))
    if now != change.after:
        raise AssertionError(f"Writing back the recorded build of {name} did not give the database it left.")
    STATS["replayed"] += 1
    return change.result


def read(raw: Any) -> State:
    """Every row of every table (by rowid), as stored."""
    state: State = {}
    tables = [
        name
        for (name,) in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    for table in tables:
        cursor = raw.execute(f'SELECT rowid, * FROM "{table}"')
        columns = [column[0] for column in cursor.description[1:]]
        state[table] = (columns, {row[0]: row[1:] for row in cursor})
    return state


def fingerprint(state: State, sequences: dict[str, int]) -> str:
    """A digest of ``state`` without its date and time columns and password hashes, and of the
    autoincrement counters."""
    digest = hashlib.sha256()
    for table, (columns, rows) in state.items():
        volatile = _volatile().get(table, frozenset())
        keep = [i for i, column in enumerate(columns) if column not in volatile]
        digest.update(f"\n{table} {columns}\n".encode())
        for rowid in sorted(rows):
            row = rows[rowid]
            digest.update(repr((rowid, [row[i] for i in keep])).encode())
    digest.update(repr(sorted(sequences.items())).encode())
    return digest.hexdigest()


def _volatile() -> dict[str, frozenset[str]]:
    """Per table, the columns two otherwise equal databases may differ in: dates and times
    (the clock) and password hashes (their salt)."""
    if not _VOLATILE:
        from django.apps import apps
        from django.contrib.auth import get_user_model
        from django.db import models

        found: dict[str, set[str]] = {}
        for model in apps.get_models(include_auto_created=True):
            for field in model._meta.local_fields:
                if isinstance(field, models.DateField | models.TimeField):
                    found.setdefault(model._meta.db_table, set()).add(field.column)
        found.setdefault(get_user_model()._meta.db_table, set()).add("password")
        _VOLATILE.update({table: frozenset(columns) for table, columns in found.items()})
    return _VOLATILE


def _sequences(raw: Any) -> dict[str, int]:
    return dict(raw.execute("SELECT name, seq FROM sqlite_sequence"))


def _diff(before: State, after: State, sequences: dict[str, int], fingerprint_after: str, result: Any) -> _Change:
    deleted: dict[str, list[int]] = {}
    updated: dict[str, list[tuple[int, dict[int, Any]]]] = {}
    inserted: dict[str, list[tuple[Any, ...]]] = {}
    for table, (_columns, rows) in after.items():
        old = before[table][1]
        gone = [rowid for rowid in old if rowid not in rows]
        if gone:
            deleted[table] = gone
        changed = [
            (rowid, {i: value for i, (was, value) in enumerate(zip(old[rowid], row, strict=True)) if was != value})
            for rowid, row in rows.items()
            if rowid in old and old[rowid] != row
        ]
        if changed:
            updated[table] = changed
        new = [(rowid, *row) for rowid, row in rows.items() if rowid not in old]
        if new:
            inserted[table] = new
    return _Change(deleted, updated, inserted, sequences, fingerprint_after, result)


def _write(raw: Any, change: _Change) -> None:
    # One transaction (a savepoint inside a test's own): foreign keys are checked at its end.
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        for table, rowids in change.deleted.items():
            raw.executemany(f'DELETE FROM "{table}" WHERE rowid = ?', [(rowid,) for rowid in rowids])
        columns_of = {table: _columns(raw, table) for table in {*change.updated, *change.inserted}}
        for table, rows in change.updated.items():
            columns = columns_of[table]
            for rowid, values in rows:
                assignments = ", ".join(f'"{columns[i]}" = ?' for i in values)
                raw.execute(f'UPDATE "{table}" SET {assignments} WHERE rowid = ?', [*values.values(), rowid])
        for table, rows in change.inserted.items():
            names = ", ".join(["rowid", *(f'"{column}"' for column in columns_of[table])])
            marks = ", ".join("?" * (len(columns_of[table]) + 1))
            raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        current = _sequences(raw)
        for table, seq in change.sequences.items():
            if table not in current:
                raw.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))
            elif current[table] != seq:
                raw.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (seq, table))


def _columns(raw: Any, table: str) -> list[str]:
    return [column[0] for column in raw.execute(f'SELECT * FROM "{table}" LIMIT 0').description]
