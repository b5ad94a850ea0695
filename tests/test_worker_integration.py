"""The real background worker, as production runs it: a `db_worker` process against PostgreSQL
picks up queued e-mail from the database and delivers it to a file mailbox; killed mid-send,
what it leaves behind is delivered exactly once after the task lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from launchroom.mail.services import email_enqueue
from launchroom.models import EmailKind, EmailStatus, OutboundEmail
from launchroom.scheduler import recover
from tests.smtp_server import SilentSMTPServer, SMTPServer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(django_settings.BASE_DIR)


def test_the_real_worker_delivers_queued_mail_to_a_file_mailbox(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        row = email_enqueue(
            to="dana@northwind.example", subject="Ready to sign", body="Please sign.", kind=EmailKind.NOTIFICATION
        )
    # Queued, not sent: the request is long over when the worker sends it.
    row.refresh_from_db()
    assert row.status == EmailStatus.QUEUED

    done = run_worker(f"filemail:///{tmp_path}")  # environ drops one leading slash
    assert done.returncode == 0, done.stderr[-2000:]
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and row.attempts == 1
    mailbox = [p.read_text() for p in tmp_path.iterdir()]
    assert len(mailbox) == 1
    assert "Subject: Ready to sign" in mailbox[0] and "To: dana@northwind.example" in mailbox[0]
    assert OutboundEmail.objects.count() == 1


WORKER = [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload"]


def worker_env(email_url: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_URL": email_url,
        **extra,
    }


def run_worker(email_url: str) -> subprocess.CompletedProcess[str]:
    """One worker run until the queue is empty (``--batch``)."""
    return subprocess.run(
        [*WORKER, "--batch"], cwd=ROOT, env=worker_env(email_url), capture_output=True, text=True, timeout=180
    )


def test_a_worker_killed_mid_send_leaves_nothing_stranded_and_the_message_goes_out_once(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with transaction.atomic():
        row = email_enqueue(to="dana@northwind.example", subject="Ready", body="Sign.", kind=EmailKind.NOTIFICATION)

    with SilentSMTPServer() as hung:
        # A mail server that accepts and never answers, and a worker that would wait on it.
        worker = subprocess.Popen(
            WORKER,
            cwd=ROOT,
            env=worker_env(f"smtp://127.0.0.1:{hung.port}", EMAIL_TIMEOUT="600"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while not (hung.connections and OutboundEmail.objects.filter(pk=row.pk, sending_since__isnull=False)):
                assert time.monotonic() < deadline and worker.poll() is None, "the worker never began the send"
                time.sleep(0.2)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)

    row.refresh_from_db()
    task = DBTaskResult.objects.get(task_path__endswith=".send_email")
    assert (row.status, row.attempts, task.status) == (EmailStatus.QUEUED, 1, TaskResultStatus.RUNNING)

    # Within the lease nothing moves; past it, the scheduler's job takes both rows up.
    assert not any(recover(timezone.now()).values())
    counts = recover(timezone.now() + timedelta(seconds=settings.TASK_LEASE_SECONDS + 1))
    assert (counts["tasks_failed"], counts["emails_retried"]) == (1, 1)
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED

    with SMTPServer() as server:
        done = run_worker(f"smtp://127.0.0.1:{server.port}")
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(server.received) == 1 and "Subject: Ready" in server.received[0]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sending_since) == (EmailStatus.SENT, 2, None)
    assert not DBTaskResult.objects.filter(status__in=[TaskResultStatus.RUNNING, TaskResultStatus.READY]).exists()
