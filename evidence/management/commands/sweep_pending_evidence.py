"""Delete uploads left waiting by replacement confirmations nobody confirmed or cancelled.

The scheduler runs the same sweep every hour (``evidence.tasks.sweep_pending_evidence``);
this is for running it by hand, or seeing first what it would delete (``--dry-run``).
Only files under ``evidence-pending/`` are looked at: evidence itself is never touched.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from evidence import pending


class Command(SystemCommand):
    help = (
        "Delete uploads waiting on an evidence-replacement confirmation for longer than "
        "EVIDENCE_PENDING_MAX_AGE_SECONDS (or --max-age)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-age",
            metavar="SECONDS",
            help=f"Delete those older than this (default EVIDENCE_PENDING_MAX_AGE_SECONDS, at least {pending.MAX_AGE})",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would be deleted; delete nothing.")

    def handle(self, *args: Any, max_age: Any = None, dry_run: bool = False, **options: Any) -> None:
        seconds = settings.EVIDENCE_PENDING_MAX_AGE_SECONDS if max_age is None else _seconds(max_age)
        try:
            removed = pending.sweep(max_age=seconds, dry_run=dry_run)
        except ValueError:  # under a token's lifetime: the sweep's own bound
            raise CommandError(
                f"--max-age must be at least {pending.MAX_AGE} seconds: a confirmation page's upload is kept "
                f"for the hour its token is valid, got {seconds}"
            ) from None
        verb = "would delete" if dry_run else "deleted"
        for name in removed:
            self.stdout.write(f"{verb} {name}")
        count = len(removed)
        self.stdout.write(
            f"{verb.capitalize()} {count} waiting upload{'s' if count != 1 else ''} older than {seconds} seconds."
        )


def _seconds(value: Any) -> int:
    try:
        seconds = int(str(value).strip())
    except ValueError:
        raise CommandError(f"--max-age must be a whole number of seconds, got {value!r}") from None
    return seconds
