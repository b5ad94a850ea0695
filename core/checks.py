"""Deploy checks (``manage.py check --deploy``) for what Django's own checks do not cover."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.database, deploy=True)
def production_database_is_not_sqlite(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Production runs on PostgreSQL: on SQLite the services' row locks lock nothing.

    A deploy check, not a refusal to start: local commands and `make bench` keep running on
    SQLite; only a deployment that runs `check --deploy` is stopped.
    """
    if settings.DEBUG:
        return []
    errors: list[checks.CheckMessage] = []
    for alias, config in settings.DATABASES.items():
        if "sqlite" in config.get("ENGINE", ""):
            errors.append(
                checks.Error(
                    f"The {alias!r} database is SQLite while DEBUG is off.",
                    hint=(
                        "Set DATABASE_URL to a PostgreSQL database (postgres://user@host/name): on SQLite "
                        "the row locks that serialise concurrent decisions do nothing."
                    ),
                    id="thesmios.E001",
                )
            )
    return errors


@checks.register(checks.Tags.database, deploy=True)
def test_flush_is_off(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``ALLOW_TEST_FLUSH`` lets ``flush`` empty the tables that keep history: tests only."""
    if not getattr(settings, "ALLOW_TEST_FLUSH", False):
        return []
    return [
        checks.Error(
            "ALLOW_TEST_FLUSH is on.",
            hint="Unset ALLOW_TEST_FLUSH: it lets `manage.py flush` erase decision records and history.",
            id="thesmios.E002",
        )
    ]
