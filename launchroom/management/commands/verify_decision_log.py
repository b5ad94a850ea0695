"""Verify every tenant's decision log (the per-tenant SHA-256 hash chain)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.history import SystemCommand
from launchroom.models import Tenant
from launchroom.readiness import ledger


class Command(SystemCommand):
    help = (
        "Walk each tenant's decision log and check it against the gate decisions, acceptance records and "
        "stage moves. Prints OK per tenant or its first broken link; exits non-zero on any break."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Verify only this tenant.")

    def handle(self, *args: Any, tenant: str | None = None, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if tenant is not None:
            tenants = tenants.filter(slug=tenant)
            if not tenants.exists():
                raise CommandError(f"No tenant {tenant!r}.")
        checked = 0
        broken: list[ledger.Break] = []
        for result in ledger.verify(tenants):
            checked += 1
            if result.broken is None:
                self.stdout.write(f"OK     {result.tenant.slug}: {result.links} links")
            else:
                broken.append(result.broken)
                self.stdout.write(f"BROKEN {result.broken}")
        if broken:
            raise CommandError(
                f"The decision log is broken for {len(broken)} of {checked} tenant(s); first: {broken[0]}"
            )
        self.stdout.write(f"Decision log verified: {checked} tenant(s), no break.")
