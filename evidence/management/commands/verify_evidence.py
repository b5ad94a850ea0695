"""Recompute every evidence attachment's SHA-256 and record the result (docs/RULES.md section 4).

Each file is checked against the SHA-256 recorded when it was attached (the attachment's
creation record in the history), not against the row's hash column alone: a file replaced
together with that column is reported as "the recorded hash differs".

Prints one line per mismatched or missing file and exits non-zero if there is any. Each
attachment gets an ``EvidenceCheck`` row, so the readiness engine treats a failing one as
stale until a later check passes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from evidence.models import EvidenceAttachment
from evidence.services import MISSING_FILE, evidence_verify
from launchroom.models import Tenant


class Command(SystemCommand):
    help = "Recompute the SHA-256 of every evidence attachment; report mismatched or missing files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Check only this tenant's evidence.")

    def handle(self, *args: Any, tenant: str | None = None, **options: Any) -> None:
        attachments = EvidenceAttachment.objects.select_related("tenant").order_by("tenant__slug", "pk")
        if tenant:
            found = Tenant.objects.filter(slug=tenant).first()
            if found is None:
                raise CommandError(f"no tenant with slug {tenant!r}")
            attachments = attachments.filter(tenant=found)
        checked = failed = 0
        for attachment in attachments.iterator(chunk_size=200):
            check = evidence_verify(attachment=attachment)
            checked += 1
            if check.ok:
                continue
            failed += 1
            label = "MISSING " if check.detail == MISSING_FILE else "MISMATCH"
            self.stdout.write(
                f"{label} #{attachment.pk} {attachment.tenant.slug} "
                f"{attachment.gate_key}/{attachment.requirement_key} {attachment.display_name}: {check.detail}"
            )
        self.stdout.write(f"Checked {checked} attachment{'s' if checked != 1 else ''}: {failed} failed.")
        if failed:
            raise CommandError(f"{failed} evidence attachment{'s' if failed != 1 else ''} failed the integrity check")
