"""Test set-up shared by every test: settings from the environment, named users, markers."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import chromium_path

REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
CHROMIUM = chromium_path()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from django.db import connection

    on_postgres = connection.vendor == "postgresql"
    for item in items:
        if item.get_closest_marker("postgres") and not on_postgres:
            # With REQUIRE_POSTGRES=1 off PostgreSQL the session has already failed to start.
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        # With REQUIRE_BROWSER=1 and no Chromium the session has already failed to start.
        if item.get_closest_marker("browser") and not CHROMIUM:
            item.add_marker(pytest.mark.skip(reason="needs Chromium: apt-get install -y chromium"))


def pytest_collection_finish(session: pytest.Session) -> None:
    # Python's cycle collector walks every live object on each full pass; after collection that
    # is Django, the apps and every test module, none of which will ever be garbage. Freezing
    # them keeps them out of every later pass, and a larger first-generation threshold lets
    # each test's short-lived objects (querysets, rendered pages) go by reference counting
    # rather than through a collection every 700 allocations. About 5% of the suite's CPU
    # (docs/DECISIONS.md, Tests); nothing a test checks depends on when cycles are freed.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def pytest_sessionstart(session: pytest.Session) -> None:
    if REQUIRE_BROWSER and not CHROMIUM:
        raise pytest.UsageError("REQUIRE_BROWSER=1 but no Chromium was found (apt-get install -y chromium)")
    if REQUIRE_POSTGRES:
        from django.db import connection

        if connection.vendor != "postgresql":
            raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL")


@pytest.fixture(scope="session", autouse=True)
def _role_groups_survive_a_flush() -> None:
    """Put the role groups back whenever a transactional test's flush empties the database.

    The groups come from a data migration, which a flush does not run again; without them
    every later test on that worker would rebuild them and their permissions (in ``staff``).
    The flush sends ``post_migrate``, as ``migrate`` does: the groups are synced then, once.
    """
    from django.apps import apps
    from django.db.models.signals import post_migrate

    from launchroom.tenants.roles import sync_groups

    def restore(**kwargs: Any) -> None:
        sync_groups()

    post_migrate.connect(restore, sender=apps.get_app_config("launchroom"), weak=False, dispatch_uid="tests.groups")


@pytest.fixture(autouse=True)
def _fast_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Every test starts with an empty cache (the launch room keeps its pages there, and a
    test's rolled-back database would otherwise meet pages cached by the one before)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db):  # type: ignore[no-untyped-def]
    """The five named staff users of the demo, each in their role's group."""
    from launchroom import demo

    return demo.ensure_staff()
