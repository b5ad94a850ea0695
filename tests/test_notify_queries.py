"""Telling people costs a write two queries per event, whoever and however many are told, and
queues one delivery task per transaction ("enqueueing adds at most one query to a write": it
adds none, the task is queued after the commit).

The counts of two real service writes are pinned here, on SQLite and PostgreSQL alike
(``tests/query_counts.json`` holds the pages, changelists and endpoints its sweep measures):

- gate_decide reopening a gate on globex: ``REOPEN`` = 20 for the decision itself (role check,
  savepoint, tenant lock, the decision and its history, the decision-log link and its history,
  five loads for readiness (the stored row comes with the tenant), the row's update, the
  transition and its history, the transition's decision-log link (the last link read, the link
  and its history), release) + 2 events (globex fell from go to hold; gate 5 is
  ready for review again), each one read of the recipients with what they were already told
  and one insert.
- acceptance_sign on contoso: ``SIGN`` = 27 for the signature (its transition's decision-log
  link included) + 1 event (the operators and the
  commercial owner are told of it).

However many people an event tells, the count stays the same. So does the reminder sweep's
however many reminders it writes: ``notify_many`` tells several events to the same recipients
with one read and one ``bulk_create``, one of each per deciding role in the sweep (Django
splits a very large insert into batches).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tasks.signals import task_enqueued

from core.types import User
from launchroom import demo
from launchroom.acceptance.services import AFFIRMATION, acceptance_sign
from launchroom.catalog import Role
from launchroom.models import MembershipRole, Notification, NotificationKind, TenantReadiness
from launchroom.notifications.events import evidence_expiry_reminders
from launchroom.notifications.services import BySide, Event, link_to, notify, notify_many
from launchroom.readiness.evaluation import evaluate
from launchroom.readiness.services import gate_decide
from tests.launch_helpers import buyer, like_demo
from tests.query_counts import describe

pytestmark = pytest.mark.django_db

# SQLite spells an insert that ignores conflicts INSERT OR IGNORE INTO, PostgreSQL INSERT INTO.
INSERT_NOTIFICATION = re.compile(r'INSERT (OR IGNORE )?INTO "launchroom_notification"')
REOPEN = 20 + 2 * 2
SIGN = 27 + 2


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
    return [q["sql"] for q in captured.captured_queries if INSERT_NOTIFICATION.match(q["sql"])]


def test_reopening_a_gate_tells_two_events_in_one_insert_each(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = like_demo("globex")
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        with CaptureQueriesContext(connection) as captured:
            reopen(tenant, staff)
        assert len(captured.captured_queries) == REOPEN, describe("reopen", REOPEN, captured.captured_queries)
        told = inserts(captured)
        assert len(told) == 2, "one insert per event"
        assert "fell_to_hold" in told[0] and "ready_for_review" in told[1]
        assert enqueued == [], "nothing is queued inside the write"
    assert enqueued.count("deliver_notifications") == 1, "one delivery task for the transaction, not one per event"
    fell = Notification.objects.filter(tenant=tenant, kind=NotificationKind.FELL_TO_HOLD)
    assert {n.recipient.username for n in fell} == {"operator", "commercial", "buyer-globex"}
    assert Notification.objects.count() - before == 4  # three told of the fall, the operator of the review


def test_the_cost_does_not_grow_with_the_people_told(staff):
    tenant = like_demo("globex")
    more_people(tenant, 5)
    with CaptureQueriesContext(connection) as captured:
        reopen(tenant, staff)
    assert len(captured.captured_queries) == REOPEN, describe("reopen", REOPEN, captured.captured_queries)
    assert len(inserts(captured)) == 2
    fell = Notification.objects.filter(tenant=tenant, kind=NotificationKind.FELL_TO_HOLD)
    assert fell.count() == 3 + 5 + 5  # operators and sponsors alike, still in one insert


def test_signing_tells_one_event_in_one_insert(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = like_demo("contoso")
    kwargs = sign_kwargs(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        with CaptureQueriesContext(connection) as captured:
            record = acceptance_sign(**kwargs)
        assert len(captured.captured_queries) == SIGN, describe("sign", SIGN, captured.captured_queries)
        assert len(inserts(captured)) == 1 and "acceptance_decided" in inserts(captured)[0]
    assert enqueued.count("deliver_notifications") == 1
    told = Notification.objects.filter(event_key=f"acceptance:{record.pk}")
    assert {n.recipient.username for n in told} == {"operator", "commercial"}


def test_one_transaction_queues_one_delivery_however_many_events_it_tells(
    staff, django_capture_on_commit_callbacks, enqueued
):
    tenant = like_demo("contoso")
    everyone = User.objects.filter(username__in=["operator", "commercial"])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for i in range(3):
            notify(recipients=everyone, kind="incident", tenant=tenant, event_key=f"many-{i}", subject="S", body="B")
    assert enqueued.count("deliver_notifications") == 1
    assert set(Notification.objects.filter(event_key__startswith="many-").values_list("delivery", flat=True)) == {
        "digest_pending"
    }, "the one task delivered all three events"


def test_a_rolled_back_savepoint_takes_its_delivery_with_it(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = like_demo("contoso")
    everyone = User.objects.filter(username__in=["operator", "commercial"])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            notify(recipients=everyone, kind="incident", tenant=tenant, event_key="undone", subject="S", body="B")
            raise RuntimeError("the change is refused after telling")
        notify(recipients=everyone, kind="incident", tenant=tenant, event_key="kept", subject="S", body="B")
    assert enqueued.count("deliver_notifications") == 1
    assert not Notification.objects.filter(event_key="undone").exists()
    assert Notification.objects.filter(event_key="kept", delivery="digest_pending").count() == 2


def test_a_rolled_back_write_tells_nobody_and_queues_nothing(staff, django_capture_on_commit_callbacks, enqueued):
    tenant = like_demo("contoso")
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


def incident(key: str, tenant) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        kind=NotificationKind.INCIDENT,
        tenant=tenant,
        event_key=f"many:{key}",
        subject=BySide(staff=f"{key} for staff", customer=f"{key} for the buyer"),
        body=f"About {key}",
        link=link_to(tenant),
    )


def test_several_events_are_told_in_one_read_and_one_insert_counting_only_the_rows_written(
    staff, django_capture_on_commit_callbacks, enqueued
):
    tenant = like_demo("contoso")
    readers = User.objects.filter(username__in=["operator", "buyer-contoso"])
    plain = Event(kind=NotificationKind.INCIDENT, tenant=None, event_key="many:c", subject="c", body="About c")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            assert notify_many(recipients=readers, events=[incident("a", tenant), incident("b", tenant), plain]) == 6
        assert len(captured.captured_queries) == 2 and len(inserts(captured)) == 1
        # Told again with one new event: only its rows are written, and counted.
        assert notify_many(recipients=readers, events=[incident("b", tenant), incident("d", tenant)]) == 2
        assert notify_many(recipients=readers, events=[incident("a", tenant)]) == 0
    assert enqueued.count("deliver_notifications") == 1
    rows = {
        (n.recipient.username, n.event_key): (n.tenant_id, n.subject, n.body, n.link)
        for n in Notification.objects.filter(event_key__startswith="many:")
    }
    assert len(rows) == 8
    admin_page = f"/admin/launchroom/tenant/{tenant.pk}/change/"
    assert rows["operator", "many:a"] == (tenant.pk, "a for staff", "About a", admin_page)
    assert rows["buyer-contoso", "many:d"] == (tenant.pk, "d for the buyer", "About d", "/launch-room/contoso/")
    assert rows["buyer-contoso", "many:c"] == (None, "c", "About c", "")


def test_thousands_of_events_stay_within_sqlites_parameter_limit(staff, django_capture_on_commit_callbacks):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's limit on a statement's parameters")
    tenant = like_demo("contoso")
    # This build allows more; SQLite's default since 3.32 is 32766. The limit is set on the
    # sqlite3 connection, reached through a cursor's DB-API ``connection`` attribute.
    with connection.cursor() as cursor:
        database = cursor.connection
    limit = database.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    database.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32766)
    try:
        events = [
            Event(kind=NotificationKind.INCIDENT, tenant=tenant, event_key=f"limit:{i}", subject="S", body="B")
            for i in range(5000)
        ]
        with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
            readers = User.objects.filter(username__in=["operator", "commercial"])
            assert notify_many(recipients=readers, events=events) == 10000
            assert notify_many(recipients=readers, events=events) == 0
    finally:
        database.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)


def test_the_reminder_sweep_writes_each_roles_reminders_in_one_insert_however_many_tenants(staff):
    """The sweep costs its fixed load and one insert per deciding role with reminders (here the
    operators' and the support owners'): the same for two tenants as for one."""
    contoso, globex = like_demo("contoso"), like_demo("globex")
    now = TenantReadiness.objects.get(tenant=globex).valid_until - timedelta(days=4)
    waits = TenantReadiness.objects.filter(tenant=contoso)
    kept = waits.get().valid_until
    waits.update(valid_until=now + timedelta(days=60))  # contoso's evidence far off: only globex is swept
    with CaptureQueriesContext(connection) as one:
        told = evidence_expiry_reminders(now=now)
    reminders = Notification.objects.filter(kind=NotificationKind.EVIDENCE_EXPIRING)
    assert told == reminders.filter(tenant=globex).count() > 0
    waits.update(valid_until=kept)
    with CaptureQueriesContext(connection) as two:
        told = evidence_expiry_reminders(now=now)
    assert told == reminders.filter(tenant=contoso).count() > 0, "globex's reminders were told already"
    assert set(reminders.values_list("recipient__username", flat=True)) == {"operator", "support"}
    assert len(inserts(one)) == len(inserts(two)) == 2
    assert len(one.captured_queries) == len(two.captured_queries)
