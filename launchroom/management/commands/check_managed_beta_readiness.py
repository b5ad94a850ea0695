"""``check_managed_beta_readiness``: the managed-beta checks of ``launchroom.proofs.advisory``
against a deployment; ``--attach TENANT`` stores the report as gate 1's readiness advisory."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from launchroom.proofs.advisory import (
    ATTACH_TO,
    COMMAND,
    FILENAME,
    add_common_arguments,
    attach_report,
    find_tenant,
    finish,
    readiness_report,
    run_or_fail,
)
from launchroom.proofs.smoke import SmokeRun, resolve_url


class Command(SystemCommand):
    help = "Check that the managed-beta readiness page and its JSON are deployed and complete."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)

    def handle(self, *args: Any, url: str | None = None, output: str | None = None, **options: Any) -> None:
        tenant = find_tenant(options.get("attach"))
        holder: dict[str, Any] = {}

        def go() -> None:
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            holder["run"] = run
            self.stdout.write(f"Checking {run.base_url}")
            holder["report"] = readiness_report(run)

        run_or_fail(go)
        run: SmokeRun = holder["run"]
        data = finish(self, run, holder["report"], output)
        failed = run.counts()["failed"]
        if failed:
            raise CommandError(
                f"{failed} of {len(run.results)} checks failed" + (": nothing attached" if tenant else "")
            )
        if tenant is not None:
            attached = attach_report(
                tenant=tenant, data=data, filename=FILENAME, command=COMMAND, requirements=ATTACH_TO
            )
            self.stdout.write(f"Attached to {tenant.slug}: {', '.join(attached)}")
