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


# A transactional test's rows are gone before the next test: the ready copy is put back
# (on the in-memory SQLite database; elsewhere Django flushes). The two tests run in order.


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_commits_rows() -> None:
    from launchroom import demo

    demo.ensure_staff()
    Group.objects.create(name="left behind")
    assert Group.objects.filter(name="left behind").exists()


@pytest.mark.django_db(transaction=True)
def test_the_next_test_starts_from_the_ready_database_again() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType

    assert not Group.objects.filter(name="left behind").exists()
    assert not get_user_model().objects.filter(username="operator").exists()
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    assert groups.count() == len(Role)
    assert all(group.permissions.exists() for group in groups)
    if connection.vendor == "sqlite":
        from tests import migrated_once

        assert migrated_once._READY, "the in-memory database keeps a ready copy to put back"
    # The content type cache agrees with the rows (ids are the ready copy's).
    assert ContentType.objects.get_for_model(Group).pk == ContentType.objects.get(model="group").pk


@pytest.mark.django_db(transaction=True)
def test_prebuilt_tenants_are_built_once_per_worker_and_gone_after_each_module() -> None:
    from launchroom import demo
    from launchroom.models import Tenant
    from tests import launch_helpers, migrated_once

    if not migrated_once.can_copy():
        pytest.skip("copies are made on the in-memory SQLite test database only")
    builds = []

    def set_up() -> None:
        builds.append(1)
        launch_helpers._PREBUILT["northwind"] = demo.build_northwind(demo.ensure_staff()).pk

    for _module in range(2):
        steps = launch_helpers._built_once_per_worker(("northwind", "this test's key"), set_up)
        next(steps)  # the module's tests run here
        assert Tenant.objects.get(slug="northwind").pk == launch_helpers._PREBUILT["northwind"]
        with pytest.raises(StopIteration):
            next(steps)
        assert not Tenant.objects.exists()
        assert not launch_helpers._PREBUILT
    assert builds == [1]
