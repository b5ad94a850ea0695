"""The task lease: what a worker killed mid-task leaves behind (a task RUNNING for ever, an
e-mail queued with its attempt open) is taken up by the scheduler's ``recover_stranded`` job
once the lease has passed: the e-mail is delivered once, or marked failed for staff to send
again; other tasks are retried a few times, then failed. The rows here are in exactly the
states a killed worker leaves (the real kill, on PostgreSQL: tests/test_worker_integration.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from launchroom.mail.tasks import send_email
from launchroom.models import EmailStatus, OutboundEmail, TenantMembership
from launchroom.readiness.tasks import refresh_readiness
from launchroom.scheduler import jobs, recover
from launchroom.tenants.accounts import invite_buyer
from tests.factories import TenantFactory
from tests.smtp_server import SilentSMTPServer
from tests.test_notifications import smtp_settings

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=10)


@pytest.fixture
def queued_in_the_database(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASK_LEASE_SECONDS = int(LEASE.total_seconds())


def invitation(staff, django_capture_on_commit_callbacks) -> OutboundEmail:
    """An invitation e-mail queued as the portal queues it: its row and a READY delivery task."""
    with django_capture_on_commit_callbacks(execute=True):
        invite_buyer(
            tenant=TenantFactory(), email="dana@northwind.example", role="buyer_sponsor", by=staff["commercial"]
        )
    return OutboundEmail.objects.get(to="dana@northwind.example")


def killed_mid_send(email: OutboundEmail, *, ago: timedelta) -> DBTaskResult:
    """What `kill -9` of the worker leaves, ``ago``: its task claimed and RUNNING, the e-mail's
    attempt counted and open."""
    result = DBTaskResult.objects.get(task_path=send_email.module_path, status=TaskResultStatus.READY)
    result.claim("worker-that-died")
    started = timezone.now() - ago
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=started)
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=email.attempts + 1, sending_since=started)
    return result


def run_ready_tasks() -> None:
    """What a live worker does next: run each READY task (the locmem mailbox receives)."""
    for result in DBTaskResult.objects.ready():
        result.claim("live-worker")
        result.set_successful(result.task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"]))


def test_it_is_a_periodic_job_of_the_scheduler():
    assert [job.every_seconds for job in jobs() if job.name == "recover_stranded"] == [60]


def test_it_retries_an_email_whose_worker_died_mid_send_and_it_is_delivered_once(
    staff, queued_in_the_database, django_capture_on_commit_callbacks
):
    email = invitation(staff, django_capture_on_commit_callbacks)
    task = killed_mid_send(email, ago=LEASE + timedelta(seconds=1))
    counts = recover(timezone.now())
    assert counts == {"tasks_retried": 0, "tasks_failed": 1, "emails_retried": 1, "emails_failed": 0}
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED and "LeaseExpired" in task.exception_class_path
    email.refresh_from_db()
    assert (email.status, email.attempts, email.sending_since) == (EmailStatus.QUEUED, 1, None)
    assert "worker stopped during attempt 1" in email.last_error
    mail.outbox.clear()
    run_ready_tasks()
    email.refresh_from_db()
    assert (email.status, email.attempts) == (EmailStatus.SENT, 2)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@northwind.example"]
    assert recover(timezone.now() + LEASE * 2) == dict.fromkeys(counts, 0), "nothing left behind"


def test_it_marks_the_email_failed_on_its_last_attempt_and_staff_can_send_it_again(
    client, staff, settings, queued_in_the_database, django_capture_on_commit_callbacks
):
    settings.EMAIL_MAX_ATTEMPTS = 1
    email = invitation(staff, django_capture_on_commit_callbacks)
    killed_mid_send(email, ago=LEASE + timedelta(minutes=5))
    assert recover(timezone.now())["emails_failed"] == 1
    email.refresh_from_db()
    assert (email.status, email.sending_since) == (EmailStatus.FAILED, None) and email.failed_at
    mail.outbox.clear()
    run_ready_tasks()
    assert mail.outbox == [], "a failed e-mail is not sent behind staff's back"

    client.force_login(staff["commercial"])
    changelist = reverse("admin:launchroom_tenantmembership_changelist")
    assert "E-mail failed" in client.get(changelist).content.decode()
    membership = TenantMembership.objects.get(user__email="dana@northwind.example")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, {"action": "resend_invitation", "_selected_action": [membership.pk]})
    assert response.status_code == 302
    run_ready_tasks()
    assert len(mail.outbox) == 1
    assert sorted(OutboundEmail.objects.values_list("status", flat=True)) == ["failed", "sent"]


def test_it_leaves_work_within_the_lease_alone(staff, queued_in_the_database, django_capture_on_commit_callbacks):
    email = invitation(staff, django_capture_on_commit_callbacks)
    task = killed_mid_send(email, ago=LEASE - timedelta(minutes=1))
    assert recover(timezone.now()) == {"tasks_retried": 0, "tasks_failed": 0, "emails_retried": 0, "emails_failed": 0}
    task.refresh_from_db()
    email.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING and email.sending_since is not None
    # A second delivery of the same e-mail meanwhile sees the attempt under way and sends nothing.
    mail.outbox.clear()
    assert send_email.call(email.pk) == "in flight"
    assert mail.outbox == []


def test_it_takes_up_an_email_whose_worker_died_before_the_attempt_began(
    staff, queued_in_the_database, django_capture_on_commit_callbacks
):
    email = invitation(staff, django_capture_on_commit_callbacks)
    task = DBTaskResult.objects.get(task_path=send_email.module_path)
    task.claim("worker-that-died")
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - LEASE * 2)
    assert recover(timezone.now())["emails_retried"] == 1
    mail.outbox.clear()
    run_ready_tasks()
    email.refresh_from_db()
    assert (email.status, email.attempts, len(mail.outbox)) == (EmailStatus.SENT, 1, 1)


def test_it_retries_another_stranded_task_a_few_times_then_fails_it(queued_in_the_database):
    result = DBTaskResult.objects.get(pk=refresh_readiness.enqueue().id)
    for claim in range(1, 4):
        result.claim(f"worker-{claim}")
        DBTaskResult.objects.filter(pk=result.pk).update(started_at=timezone.now() - LEASE * 2)
        counts = recover(timezone.now())
        result.refresh_from_db()
        if claim < 3:
            assert counts["tasks_retried"] == 1 and result.status == TaskResultStatus.READY
        else:
            assert counts["tasks_failed"] == 1 and result.status == TaskResultStatus.FAILED
    assert "LeaseExpired" in result.exception_class_path and "the worker stopped" in result.traceback


def test_a_mail_server_that_never_answers_fails_the_attempt_within_the_timeout(
    staff, settings, django_capture_on_commit_callbacks
):
    with SilentSMTPServer() as server:
        smtp_settings(settings, server.port)
        settings.EMAIL_TIMEOUT = 1
        settings.EMAIL_MAX_ATTEMPTS = 1
        began = time.monotonic()
        email = invitation(staff, django_capture_on_commit_callbacks)
        assert time.monotonic() - began < 10
    assert server.connections >= 1
    assert (email.status, email.sending_since) == (EmailStatus.FAILED, None)
    assert "timed out" in email.last_error


def test_the_email_timeout_defaults_to_a_few_seconds(tmp_path):
    from tests.test_hardening import production_env, run

    script = "from django.conf import settings; print(settings.EMAIL_TIMEOUT, settings.TASK_LEASE_SECONDS)"
    done = run(
        [
            "-c",
            f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='thesmios.settings'; django.setup(); {script}",
        ],
        production_env(tmp_path),
    )
    assert done.stdout.split() == ["10", "600"], done.stderr
