"""The test database, copied from a migrated one (tests/migrated_once.py), is the migrated database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from launchroom.catalog import Role
from tests.migrated_once import migrations_key


@pytest.mark.django_db
def test_the_test_database_has_every_migration_applied_and_what_post_migrate_writes() -> None:
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    assert groups.count() == len(Role)
    assert all(group.permissions.exists() for group in groups)


def test_the_key_names_the_migrations_and_is_stable() -> None:
    assert migrations_key() == migrations_key()
    assert len(migrations_key()) == 20
