"""A send that fails is retried later and later, then marked failed where staff see it, on the
database backend production runs (not the immediate backend the other tests use), and no
e-mail failure answers 500: an invitation and a password reset with the SMTP server down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from core.types import User
from launchroom.mail.tasks import retry_delay
from launchroom.models import EmailKind, EmailStatus, OutboundEmail, Tenant, TenantMembership
from launchroom.tenants.accounts import invite_buyer
from tests.smtp_server import closed_port

pytestmark = pytest.mark.django_db

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# The tolerance on a measured delay: run_after is computed just before the row is written.
SLACK = timedelta(seconds=5)


@pytest.fixture
def smtp_down(settings):  # type: ignore[no-untyped-def]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


def worker() -> Worker:
    """django-tasks-db's own worker, as db_worker runs it."""
    return Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )


def test_a_failing_send_waits_30_s_2_min_8_min_between_tries_then_is_marked_failed_and_shown(
    client, staff, settings, smtp_down, django_capture_on_commit_callbacks
):
    settings.TASKS = DATABASE_BACKEND
    settings.EMAIL_MAX_ATTEMPTS = 4
    settings.EMAIL_RETRY_BASE_SECONDS = 30
    tenant = Tenant.objects.create(slug="acme", name="Acme Health", commercial_owner=staff["commercial"])
    with django_capture_on_commit_callbacks(execute=True):
        invite_buyer(tenant=tenant, email="dana@acme.example", role="viewer", by=staff["commercial"])
    email = OutboundEmail.objects.get(to="dana@acme.example")
    runner = worker()
    waited = []
    for attempt in range(1, settings.EMAIL_MAX_ATTEMPTS + 1):
        # Exactly one send of this e-mail waits in the queue at a time.
        task = DBTaskResult.objects.get(status=TaskResultStatus.READY, task_path="launchroom.mail.tasks.send_email")
        assert task.args_kwargs == {"args": [email.pk], "kwargs": {}}
        if attempt > 1:
            waited.append(task.run_after - task.enqueued_at)
            # Deferred: the worker does not take it before its time comes ...
            assert not DBTaskResult.objects.ready().filter(pk=task.pk).exists()
        # ... and takes it then (run here without waiting for the clock).
        task.claim("test-worker")
        runner.run_task(task)
        task.refresh_from_db()
        assert task.status == TaskResultStatus.SUCCESSFUL, task.traceback  # the task copes with the failure
        email.refresh_from_db()
        assert email.attempts == attempt and "ConnectionRefusedError" in email.last_error

    expected = [timedelta(seconds=30), timedelta(seconds=120), timedelta(seconds=480)]
    assert [retry_delay(n) for n in (1, 2, 3)] == expected
    assert all(abs(got - want) <= SLACK for got, want in zip(waited, expected, strict=True)), waited
    assert waited[0] < waited[1] < waited[2]
    assert email.status == EmailStatus.FAILED and email.failed_at is not None
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists(), "no fifth try"

    client.force_login(staff["commercial"])
    changelist = client.get(reverse("admin:launchroom_tenantmembership_changelist")).content.decode()
    assert "E-mail failed" in changelist
    membership = TenantMembership.objects.get(tenant=tenant, user__email="dana@acme.example")
    assert email.membership == membership


def test_the_delay_grows_fourfold_and_stops_at_six_hours(settings):
    settings.EMAIL_RETRY_BASE_SECONDS = 30
    assert [retry_delay(n).total_seconds() for n in range(1, 8)] == [30, 120, 480, 1920, 7680, 21600, 21600]


def test_a_password_reset_with_smtp_down_answers_as_usual_and_is_marked_failed(
    client, settings, smtp_down, django_capture_on_commit_callbacks
):
    settings.EMAIL_MAX_ATTEMPTS = 2
    User.objects.create_user("dana", email="dana@acme.example", password="an-old-password-42")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "dana@acme.example"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    email = OutboundEmail.objects.get(kind=EmailKind.PASSWORD_RESET)
    assert (email.to, email.status, email.attempts) == ("dana@acme.example", EmailStatus.FAILED, 2)
    assert "ConnectionRefusedError" in email.last_error
