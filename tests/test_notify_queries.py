"""Telling people costs a write one query per event, whoever and however many are told, and
queues one delivery task per transaction (issue 12: "enqueueing adds at most one query to a write").

The counts of two real service writes are pinned here, on SQLite and PostgreSQL alike
(``tests/query_counts.json`` holds the pages, changelists and endpoints its sweep measures):

- gate_decide reopening a gate on globex: ``REOPEN`` = 18 for the decision itself (role check,
  savepoint, tenant lock, the decision and its history, the decision-log link and its history,
  five loads for readiness, the stored row and its update, the transition and its history,
  release) + 2 events (globex fell from go to hold; gate 5 is ready for review again), one
  INSERT ... SELECT each. Before telling cost one query per event the same write ran 25
  (each audience read first, the commercial owner fetched, one insert per audience).
- acceptance_sign on contoso: ``SIGN`` = 25 for the signature + 1 event (the operators and the
  commercial owner are told of it); 28 before.

However many people an event tells, the count stays the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks.signals import task_enqueued

from core.types import User
from launchroom import demo
from launchroom.acceptance.services import AFFIRMATION, acceptance_sign
from launchroom.catalog import Role
from launchroom.gates.readiness import evaluate
from launchroom.gates.services import gate_decide
from launchroom.models import MembershipRole, Notification, NotificationKind
from launchroom.notifications.services import _enqueue_delivery, notify
from tests.launch_helpers import build, buyer, prebuild
from tests.query_counts import describe

_demo = prebuild("contoso", "globex")

pytestmark = pytest.mark.django_db

INSERT_NOTIFICATION = 'INSERT INTO "launchroom_notification"'
REOPEN = 18 + 2
SIGN = 25 + 1


@pytest.fixture
def enqueued() -> Iterator[list[str]]:
    """The names of the tasks enqueued while the test runs (django-tasks' own signal)."""
    names: list[str] = []

    def record(sender: object, task_result: object, **kwargs: object) -> None:
        names.append(task_result.task.name)  # type: ignore[attr-defined]

    task_enqueued.connect(record)
    yield names
    task_enqueued.disconnect(record)


def more_people(tenant, how_many: int) -> None:  # type: ignore[no-untyped-def]
    """More operators and more buyer sponsors: more people to tell of the same events."""
    operators = Group.objects.get(name=Role.OPERATOR.value)
    for i in range(how_many):
        User.objects.create_user(f"operator-{i}", is_staff=True).groups.add(operators)
        demo.ensure_buyer(tenant, f"sponsor-{i}-{tenant.slug}", role=MembershipRole.BUYER_SPONSOR)


def reopen(tenant, staff):  # type: ignore[no-untyped-def]
    return gate_decide(
        tenant=tenant, gate_key="tenant-access-proof", decision="reopened", note="Re-run", by=staff["operator"]
    )


def sign_kwargs(tenant):  # type: ignore[no-untyped-def]
    """What the room passes acceptance_sign, read before the write is counted."""
    readiness = evaluate(tenant)
    return {
        "tenant": tenant,
        "stage": readiness.stage,
        "decision": "accepted",
        "signer_name": "Carlos Conti",
        "signer_role": "Head of compliance operations",
        "recorded_by": buyer(tenant.slug),
        "exclusions": list(readiness.do_not_claim),
        "residual_risks": ["Support stays manual"],
        "approval_reference": readiness.data.signed_order_form.approval_reference,
        "affirmation": AFFIRMATION,
    }


def inserts(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if q["sql"].startswith(INSERT_NOTIFICATION)]


def test_reopening_a_gate_tells_two_events_in_two_queries(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = build("globex", staff)
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        with CaptureQueriesContext(connection) as captured:
            reopen(tenant, staff)
        assert len(captured.captured_queries) == REOPEN, describe("reopen", REOPEN, captured.captured_queries)
        told = inserts(captured)
        assert len(told) == 2, "one INSERT ... SELECT per event, nothing read beforehand"
        assert "'fell_to_hold'" in told[0] and "'ready_for_review'" in told[1]
        assert enqueued == [], "nothing is queued inside the write"
    assert enqueued.count("deliver_notifications") == 1, "one delivery task for the transaction, not one per event"
    fell = Notification.objects.filter(tenant=tenant, kind=NotificationKind.FELL_TO_HOLD)
    assert {n.recipient.username for n in fell} == {"operator", "commercial", "buyer-globex"}
    assert Notification.objects.count() - before == 4  # three told of the fall, the operator of the review


def test_the_cost_does_not_grow_with_the_people_told(staff):
    tenant = build("globex", staff)
    more_people(tenant, 5)
    with CaptureQueriesContext(connection) as captured:
        reopen(tenant, staff)
    assert len(captured.captured_queries) == REOPEN, describe("reopen", REOPEN, captured.captured_queries)
    assert len(inserts(captured)) == 2
    fell = Notification.objects.filter(tenant=tenant, kind=NotificationKind.FELL_TO_HOLD)
    assert fell.count() == 3 + 5 + 5  # operators and sponsors alike, still in one insert


def test_signing_tells_one_event_in_one_query(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = build("contoso", staff)
    kwargs = sign_kwargs(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        with CaptureQueriesContext(connection) as captured:
            record = acceptance_sign(**kwargs)
        assert len(captured.captured_queries) == SIGN, describe("sign", SIGN, captured.captured_queries)
        assert len(inserts(captured)) == 1 and "'acceptance_decided'" in inserts(captured)[0]
    assert enqueued.count("deliver_notifications") == 1
    told = Notification.objects.filter(event_key=f"acceptance:{record.pk}")
    assert {n.recipient.username for n in told} == {"operator", "commercial"}


def test_one_transaction_queues_one_delivery_however_many_events_it_tells(
    staff, django_capture_on_commit_callbacks, enqueued
):
    tenant = build("contoso", staff)
    everyone = User.objects.filter(username__in=["operator", "commercial"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for i in range(3):
            notify(recipients=everyone, kind="incident", tenant=tenant, event_key=f"many-{i}", subject="S", body="B")
    assert [c for c in callbacks if c is _enqueue_delivery] == [_enqueue_delivery]
    assert enqueued.count("deliver_notifications") == 1
    assert set(Notification.objects.filter(event_key__startswith="many-").values_list("delivery", flat=True)) == {
        "digest_pending"
    }, "the one task delivered all three events"


def test_a_rolled_back_savepoint_takes_its_delivery_with_it(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = build("contoso", staff)
    everyone = User.objects.filter(username__in=["operator", "commercial"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipients=everyone, kind="incident", tenant=tenant, event_key="undone", subject="S", body="B")
            raise RuntimeError("the change is refused after telling")
        notify(recipients=everyone, kind="incident", tenant=tenant, event_key="kept", subject="S", body="B")
    assert [c for c in callbacks if c is _enqueue_delivery] == [_enqueue_delivery]
    assert enqueued.count("deliver_notifications") == 1
    assert not Notification.objects.filter(event_key="undone").exists()
    assert Notification.objects.filter(event_key="kept", delivery="digest_pending").count() == 2


def test_a_rolled_back_write_tells_nobody_and_queues_nothing(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = build("contoso", staff)
    everyone = User.objects.filter(username__in=["operator", "commercial"])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(recipients=everyone, kind="incident", tenant=tenant, event_key="gone", subject="S", body="B")
        raise RuntimeError("refused")
    assert callbacks == [] and enqueued == []
    assert not Notification.objects.filter(event_key="gone").exists()
