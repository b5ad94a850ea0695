"""Comments and readiness transitions are links of the decision log: one deleted or truncated
behind the portal's back is caught by ``verify_decision_log``; the rows written before the
log held them are chained by the data migration."""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from launchroom.conversation.services import comment_add
from launchroom.models import Comment, DecisionLogEntry, LaunchStage, ReadinessTransition, Tenant
from launchroom.readiness import ledger, projection
from tests.factories import ready_tenant
from tests.tamper import raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def globex(db: None) -> Tenant:
    """Signed for the paid beta and moved into it, with a comment and its stored readiness
    (whose first evaluation is a transition)."""
    tenant = ready_tenant("globex", sign_for=LaunchStage.PAID_BETA, live=True)
    sponsor = tenant.memberships.get().user
    comment_add(tenant=tenant, author=sponsor, body="Is gate 1 done?", gate_key="public-deployment")
    projection.project(tenant_id=tenant.pk, cause="test: first evaluation")
    return tenant


def broken() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("verify_decision_log", stdout=io.StringIO())
    return str(caught.value)


def link(kind: str, pk: int) -> DecisionLogEntry:
    return DecisionLogEntry.objects.get(kind=kind, object_id=pk)


def table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def test_it_chains_comments_and_transitions_as_they_are_written(globex: Tenant) -> None:
    comment = Comment.objects.get(tenant=globex)
    transition = ReadinessTransition.objects.filter(tenant=globex).latest("id")
    assert link("comment", comment.pk).payload == ledger.row_payload(comment)
    assert link("readiness_transition", transition.pk).payload == ledger.row_payload(transition)
    assert next(ledger.verify([globex])).broken is None


@pytest.mark.postgres
@pytest.mark.parametrize("model", [Comment, ReadinessTransition], ids=lambda m: m.__name__)
def test_it_catches_a_comment_or_transition_deleted_behind_the_portals_back(
    globex: Tenant, model: type[Comment | ReadinessTransition]
) -> None:
    row = model.objects.filter(tenant=globex).latest("id")
    kind = ledger.KIND_OF[model]
    seq = link(kind, row.pk).seq
    raw(f"DELETE FROM {table(model)} WHERE id = %s", [row.pk])  # the refusing triggers lifted
    assert f"globex: link {seq}: {kind} {row.pk} was deleted" in broken()


@pytest.mark.postgres
@pytest.mark.parametrize("model", [Comment, ReadinessTransition], ids=lambda m: m.__name__)
def test_it_catches_a_truncated_comment_or_transition_table(
    globex: Tenant, model: type[Comment | ReadinessTransition]
) -> None:
    first = model.objects.filter(tenant=globex).earliest("id")
    kind = ledger.KIND_OF[model]
    raw(f"TRUNCATE {table(model)}")
    assert f"globex: link {link(kind, first.pk).seq}: {kind} {first.pk} was deleted" in broken()


def test_the_migration_chains_the_rows_written_before_the_log_held_them(globex: Tenant) -> None:
    """Rows written as before (no announcement): not in the log, which ``verify`` reports;
    the data migration appends them, after which the log verifies."""
    sponsor = globex.memberships.get().user
    old = Comment.objects.create(tenant=globex, author=sponsor, body="Written before.", gate_key="public-deployment")
    assert f"comment {old.pk} is not in the log" in broken()
    migration = importlib.import_module("launchroom.migrations.0016_chain_comments_and_transitions")
    migration.chain_existing(apps, None)
    last = DecisionLogEntry.objects.filter(tenant=globex).latest("seq")
    assert (last.kind, last.object_id) == ("comment", old.pk)
    assert next(ledger.verify([globex])).broken is None
