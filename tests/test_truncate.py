"""History that raw SQL cannot erase (PostgreSQL): append-only and frozen tables refuse
TRUNCATE, the history tables refuse DELETE and TRUNCATE, and only the test run's flush,
behind its one switch (``ALLOW_TEST_FLUSH``), empties them."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, models, transaction
from simple_history.models import HistoricalChanges

from core.append_only import AppendOnlyModel
from launchroom.models import LaunchStage, OrderForm, Tenant
from tests.factories import ready_tenant

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def append_only_and_frozen() -> list[type[models.Model]]:
    found = [m for m in apps.get_models() if issubclass(m, AppendOnlyModel)]
    return sorted([*found, OrderForm], key=lambda m: m._meta.label)


def history_models() -> list[type[models.Model]]:
    return sorted((m for m in apps.get_models() if issubclass(m, HistoricalChanges)), key=lambda m: m._meta.label)


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def refused(sql: str) -> str:
    """Run ``sql`` on the test's own (ordinary) connection; return the database's refusal."""
    with connection.cursor() as cursor:
        # TRUNCATE refuses a table with foreign-key checks still deferred in this transaction
        # (the test's): run them now, so that only the trigger can refuse.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    return str(caught.value)


@pytest.fixture
def globex(db: None) -> Tenant:
    return ready_tenant("globex", sign_for=LaunchStage.PAID_BETA, live=True)


def test_it_covers_the_decision_tables_and_every_history_table() -> None:
    labels = {m._meta.label for m in append_only_and_frozen()}
    assert {"launchroom.Comment", "launchroom.ReadinessTransition", "launchroom.OrderForm"} <= labels
    assert {"launchroom.StageChange", "billing.BillingFallbackAcceptance", "evidence.EvidenceCheck"} <= labels
    assert "launchroom.HistoricalDecisionLogEntry" in {m._meta.label for m in history_models()}


@pytest.mark.parametrize("model", append_only_and_frozen(), ids=lambda m: m.__name__)
def test_it_refuses_truncate_of_an_append_only_or_frozen_table(globex: Tenant, model: type[models.Model]) -> None:
    before = model._base_manager.count()
    # CASCADE: without it a table other tables point at is refused for that reason alone.
    assert "the database refuses this TRUNCATE" in refused(f"TRUNCATE {table(model)} CASCADE")
    assert model._base_manager.count() == before


@pytest.mark.parametrize("model", history_models(), ids=lambda m: m.__name__)
def test_it_refuses_delete_and_truncate_of_a_history_table(globex: Tenant, model: type[models.Model]) -> None:
    before = model._base_manager.count()
    assert "history is kept; the database refuses this DELETE" in refused(f"DELETE FROM {table(model)}")
    assert "history is kept; the database refuses this TRUNCATE" in refused(f"TRUNCATE {table(model)}")
    assert model._base_manager.count() == before


def test_it_still_sets_the_history_user_to_null_when_a_user_is_deleted(globex: Tenant) -> None:
    """Django's ``SET_NULL`` of a deleted user is an UPDATE of ``history_user``: still allowed."""
    user = get_user_model().objects.create_user("leaver", password="x")
    record: Any = globex.history.first()
    history = type(record)
    history.objects.filter(pk=record.pk).update(history_user=user)
    user.delete()
    assert history.objects.get(pk=record.pk).history_user_id is None


def test_it_refuses_flush_without_the_switch_and_empties_with_it(globex: Tenant, settings: Any) -> None:
    settings.ALLOW_TEST_FLUSH = False
    with pytest.raises(CommandError, match="couldn't be flushed"), transaction.atomic():
        call_command("flush", interactive=False, verbosity=0)
    assert OrderForm.objects.filter(tenant=globex).exists()

    settings.ALLOW_TEST_FLUSH = True
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # a flush outside a test's transaction has none deferred
    with transaction.atomic():  # rolled back below: the rest of the test sees globex again
        call_command("flush", interactive=False, verbosity=0)
        assert not OrderForm.objects.exists()
        assert not OrderForm.history.exists()
        # The switch lasted for the flush alone: the same connection is refused again.
        assert "the database refuses this TRUNCATE" in refused(f"TRUNCATE {table(OrderForm)} CASCADE")
        transaction.set_rollback(True)
    assert OrderForm.objects.filter(tenant=globex).exists()
