"""Enqueue the periodic jobs (readiness refresh, reminder sweep, daily digest, sweep of waiting
uploads, recovery of what stopped workers left behind) once per period: the list is
`launchroom.scheduler.jobs`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import CommandParser
from django.utils import timezone

from core.history import SystemCommand
from launchroom.scheduler import tick


class Command(SystemCommand):
    help = "Run the scheduler: every --interval seconds, enqueue each periodic job whose period has begun."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=int, default=15, help="Seconds between ticks (default 15).")
        parser.add_argument("--once", action="store_true", help="One tick, then exit.")

    def handle(self, *args: Any, interval: int, once: bool, **options: Any) -> None:
        if interval < 1:
            from django.core.management.base import CommandError

            raise CommandError("--interval must be at least 1 second.")
        while True:
            started = tick(timezone.now())
            for name in started:
                self.stdout.write(f"enqueued {name}")
            if once:
                return
            time.sleep(interval)
