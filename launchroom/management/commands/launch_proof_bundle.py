"""``launch_proof_bundle``: the public launch checks of ``launchroom.proofs.bundle`` against a
deployment, written as one attachable JSON bundle (``--attach TENANT``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from launchroom.proofs.advisory import add_common_arguments, attach_report, find_tenant, finish, run_or_fail
from launchroom.proofs.bundle import ATTACH_TO, COMMAND, FILENAME, bundle_report
from launchroom.proofs.smoke import SmokeRun, resolve_url


class Command(SystemCommand):
    help = "Run the public launch proof checks and write one attachable JSON bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        add_common_arguments(parser)

    def handle(self, *args: Any, url: str | None = None, output: str | None = None, **options: Any) -> None:
        tenant = find_tenant(options.get("attach"))
        holder: dict[str, Any] = {}

        def go() -> None:
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            holder["run"] = run
            self.stdout.write(f"Checking {run.base_url}")
            holder["report"] = bundle_report(run)

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
