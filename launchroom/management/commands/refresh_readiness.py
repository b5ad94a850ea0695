"""Re-evaluate the tenants whose stored readiness has passed its *valid until* (docs/RULES.md section 11).

refresh_readiness             the due tenants (and any tenant without a row yet)
refresh_readiness --all       every tenant: run after ``migrate`` (a new catalog or
                              freshness setting changes every row)
refresh_readiness --check     write nothing: list the due tenants, and exit 1 naming
                              each tenant whose not-yet-due row differs from a fresh evaluation
refresh_readiness --loop 60   refresh, then again every 60 seconds, until stopped
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import close_old_connections

from core.history import SystemCommand
from launchroom.readiness import projection


class Command(SystemCommand):
    help = "Re-evaluate stored readiness whose valid-until has passed (--all: every tenant; --check: write nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", dest="everything", help="Re-evaluate every tenant.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Write nothing; exit 1 if a row that is not yet due differs from a fresh evaluation.",
        )
        parser.add_argument(
            "--loop", type=int, metavar="SECONDS", default=0, help="Keep refreshing, every SECONDS seconds."
        )
        parser.add_argument("--batch-size", type=int, default=projection.BATCH_SIZE, help=argparse_help())

    def handle(
        self,
        *args: Any,
        everything: bool = False,
        check: bool = False,
        loop: int = 0,
        batch_size: int = projection.BATCH_SIZE,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if loop < 0:
            raise CommandError("--loop takes a positive number of seconds.")
        if check:
            if everything or loop:
                raise CommandError("--check writes nothing; it does not combine with --all or --loop.")
            self._check(batch_size)
            return
        if not loop:
            self._refresh(everything, batch_size)
            return
        stop = {"now": False}

        def _stop(signum: int, frame: Any) -> None:
            stop["now"] = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.stdout.write(f"refresh_readiness: every {loop} s (Ctrl-C or SIGTERM stops)")
        first = True
        while not stop["now"]:
            close_old_connections()
            self._refresh(everything and first, batch_size, quiet=True)
            first = False
            deadline = time.monotonic() + loop
            while not stop["now"] and time.monotonic() < deadline:
                time.sleep(min(1.0, loop))
        self.stdout.write("refresh_readiness: stopped")

    def _refresh(self, everything: bool, batch_size: int, quiet: bool = False) -> None:
        started = time.perf_counter()
        result = projection.refresh(everything=everything, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        for transition in result.transitions:
            self.stdout.write(
                f"{transition.tenant.slug}: {transition.decision_before or '-'} -> {transition.decision_after} "
                f"({transition.cause})"
            )
        if not quiet or result.evaluated:
            self.stdout.write(
                f"refresh_readiness: {result.evaluated} evaluated, {result.rewritten} rewritten, "
                f"{len(result.transitions)} transition(s) in {elapsed:.2f} s"
            )

    def _check(self, batch_size: int) -> None:
        result = projection.check(batch_size=batch_size)
        for slug in result.due:
            self.stdout.write(f"due: {slug}")
        for slug, fields in result.differing:
            self.stderr.write(f"differs: {slug} ({', '.join(fields)})")
        if result.differing:
            raise CommandError(
                "stored readiness differs from a fresh evaluation for: "
                + ", ".join(slug for slug, _ in result.differing),
                returncode=1,
            )
        self.stdout.write(f"refresh_readiness --check: ok ({len(result.due)} due)")


def argparse_help() -> str:
    return f"Tenants per transaction (default {projection.BATCH_SIZE})."
