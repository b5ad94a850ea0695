"""Tampering as an attacker with database rights would do it, for the tamper tests.

On PostgreSQL the database refuses UPDATE and DELETE of decision rows with triggers
(core/append_only.py), and those triggers ignore pgtrigger's session switch. Whoever owns
the tables can still lift them with ``ALTER TABLE ... DISABLE TRIGGER``: that is what
``lifted`` does, so the tamper tests can show that ``verify_decision_log`` and
``verify_evidence`` still catch what such an attacker changes. On SQLite there is nothing
to lift.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pgtrigger
from django.apps import apps
from django.db import connection


def protected_tables() -> list[str]:
    """Every table one of our refusing triggers guards."""
    return sorted(
        {model._meta.db_table for model, _trigger in pgtrigger.registered() if model._meta.app_label != "pgtrigger"}
    )


@contextmanager
def lifted() -> Iterator[None]:
    """Disable the refusing triggers for the block, as the tables' owner could."""
    if connection.vendor != "postgresql":
        yield
        return
    tables = [connection.ops.quote_name(t) for t in protected_tables()]
    with connection.cursor() as cursor:
        # ALTER TABLE refuses while the transaction has deferred foreign-key checks pending
        # on the table: run them now (the test's transaction is rolled back anyway).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def raw(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
    """Run one hand-written statement with the triggers lifted."""
    with lifted(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def model_table(label: str) -> str:
    return connection.ops.quote_name(apps.get_model(label)._meta.db_table)
