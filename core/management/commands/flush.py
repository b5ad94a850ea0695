"""Django's ``flush``, which may empty the tables that refuse TRUNCATE only in a test run.

On PostgreSQL the append-only, frozen and history tables refuse ``TRUNCATE`` with a statement
trigger (core/append_only.py), so ``flush`` fails there, as it should on any real database.
Django's test cases empty the database after a transactional test with this command: with
``settings.ALLOW_TEST_FLUSH`` on (the test settings alone turn it on, and the deploy checks
refuse it) the flush runs in one transaction with ``session_replication_role = replica``,
which suspends the triggers for that transaction only. Setting it takes a superuser (or, on
PostgreSQL 15 and later, a role granted ``SET`` on the parameter): an ordinary connection of
the portal cannot lift the triggers this way.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands import flush
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections, transaction

from core.history import SystemCommand


class Command(SystemCommand, flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if not settings.ALLOW_TEST_FLUSH or connection.vendor != "postgresql":
            super().handle(**options)
            return
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            # The tables are emptied with the triggers suspended; post_migrate (the content
            # types, permissions and role groups written again) runs with them in force.
            super().handle(**{**options, "inhibit_post_migrate": True})
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
            if not options.get("inhibit_post_migrate"):
                emit_post_migrate_signal(options["verbosity"], options["interactive"], database)
