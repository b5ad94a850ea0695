"""The real background worker, as production runs it: a `db_worker` process against PostgreSQL
picks up queued e-mail from the database and delivers it to a file mailbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from launchroom.mail.services import email_enqueue
from launchroom.models import EmailKind, EmailStatus, OutboundEmail

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

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "EMAIL_URL": f"filemail:///{tmp_path}",  # environ drops one leading slash
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT and row.attempts == 1
    mailbox = [p.read_text() for p in tmp_path.iterdir()]
    assert len(mailbox) == 1
    assert "Subject: Ready to sign" in mailbox[0] and "To: dana@northwind.example" in mailbox[0]
    assert OutboundEmail.objects.count() == 1
