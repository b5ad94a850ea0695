"""The scheduler: run_scheduler enqueues each periodic job once per period, however many
schedulers run, and a period whose enqueue failed is not lost.

The jobs are enqueued on django-tasks' database backend here (as in production), so an
enqueue is a row in the same database, written in the claim's transaction."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from launchroom.models import ScheduledRun
from launchroom.notifications.tasks import daily_digest
from launchroom.scheduler import Job, jobs, tick
from tests.test_concurrency import run_together

DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SCHEDULERS = 4


@pytest.fixture
def queued_in_the_database(settings):  # type: ignore[no-untyped-def]
    settings.TASKS = DATABASE_BACKEND


def queued() -> Counter[str]:
    """How many tasks are queued, by task (its function's name)."""
    return Counter(path.rsplit(".", 1)[1] for path in DBTaskResult.objects.values_list("task_path", flat=True))


JOB_TASKS = {
    "refresh_readiness": "refresh_readiness",
    "reminder_sweep": "reminder_sweep",
    "daily_digest": "daily_digest",
    "sweep_pending_evidence": "sweep_pending_evidence",
    "recover_stranded": "recover_stranded",
}


@pytest.mark.django_db
def test_the_command_runs_one_tick_with_once_and_a_second_finds_every_period_taken(queued_in_the_database):
    out = StringIO()
    call_command("run_scheduler", "--once", stdout=out)
    assert sorted(out.getvalue().splitlines()) == sorted(f"enqueued {job.name}" for job in jobs())
    assert set(JOB_TASKS) == {job.name for job in jobs()}
    assert queued() == Counter(JOB_TASKS.values())
    assert ScheduledRun.objects.count() == len(JOB_TASKS)

    again = StringIO()
    call_command("run_scheduler", "--once", stdout=again)  # a restart, or a second scheduler
    assert again.getvalue() == ""
    assert queued() == Counter(JOB_TASKS.values())


@pytest.mark.django_db
def test_the_command_refuses_an_interval_under_a_second():
    with pytest.raises(CommandError, match="--interval must be at least 1 second"):
        call_command("run_scheduler", "--once", "--interval", "0")
    assert not ScheduledRun.objects.exists()


@pytest.mark.django_db
def test_each_period_is_enqueued_once_and_the_next_period_again(settings, queued_in_the_database):
    now = timezone.now()
    first = tick(now)
    assert set(first) == {job.name for job in jobs()}
    assert tick(now) == []
    later = now + timedelta(seconds=settings.REMINDER_SWEEP_SECONDS)
    assert "reminder_sweep" in tick(later)
    assert queued()["reminder_sweep"] == 2


@pytest.mark.django_db
def test_a_failed_enqueue_gives_its_period_back_and_the_next_tick_enqueues_it(queued_in_the_database, caplog):
    now = timezone.now()
    # A real enqueue that fails: the database backend refuses a queue it does not serve.
    broken = Job("daily_digest", 24 * 3600, lambda: daily_digest.using(queue_name="nowhere").enqueue())
    working = Job("daily_digest", 24 * 3600, daily_digest.enqueue)
    other = Job("reminder_sweep", 3600, jobs()[1].enqueue)

    assert tick(now, among=[broken, other]) == ["reminder_sweep"], "one job failing does not stop the others"
    assert "could not enqueue daily_digest" in caplog.text
    assert list(ScheduledRun.objects.values_list("job", flat=True)) == ["reminder_sweep"]
    assert queued() == Counter({"reminder_sweep": 1})

    assert tick(now, among=[working, other]) == ["daily_digest"], "the same period, claimed at last"
    assert queued() == Counter({"reminder_sweep": 1, "daily_digest": 1})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_schedulers_ticking_at_the_same_moment_enqueue_each_period_once(queued_in_the_database):
    now = timezone.now()
    results = run_together(SCHEDULERS, lambda i: tick(now))
    assert [r for r in results if r[0] != "ok"] == []
    started = [name for _, names in results for name in names]
    assert sorted(started) == sorted(job.name for job in jobs()), "each job by exactly one scheduler"
    assert queued() == Counter(JOB_TASKS.values())
    assert ScheduledRun.objects.count() == len(JOB_TASKS)
