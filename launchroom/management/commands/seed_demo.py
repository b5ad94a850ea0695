"""Create the demo staff and the four demo tenants of docs/RULES.md section 9 (idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.test.utils import override_settings

from core.history import SystemCommand, acting_as
from launchroom import demo
from launchroom.models import Tenant
from launchroom.proofs.inprocess import missing_static_step
from launchroom.readiness.evaluation import evaluate


class Command(SystemCommand):
    help = (
        "Create demo users (password 'demo') and the northwind, contoso, globex and initech tenants. "
        "Whatever exists is kept, passwords included, so a restart logs nobody out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Set every demo user's password back to 'demo'."
        )

    def handle(self, *args: Any, force: bool = False, reset_passwords: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates users with the password 'demo'; it refuses to run with DEBUG off "
                "unless --force is given."
            )
        # The in-process proofs render pages: stop before creating anything, naming the step.
        if step := missing_static_step():
            raise CommandError(f"seed_demo cannot build the demo's proofs: {step}.")
        self.password = demo.DEMO_PASSWORD if reset_passwords else None
        staff = demo.ensure_staff(password=self.password)
        # The demo's broadcast dry-runs are kept as evidence, not printed to the console.
        # Each step names its own actor; anything else the seed writes is the operator's.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            acting_as(staff["operator"]),
        ):
            self._build(staff)
        self.stdout.write(
            "Demo logins (password 'demo'): operator, commercial, finance, security, support, "
            + ", ".join(demo.buyer_usernames())
        )

    def _build(self, staff: dict[str, Any]) -> None:
        for slug, build in demo.BUILDERS.items():
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                tenant = build(staff)
                tenant.refresh_from_db()
                action = "created"
            else:
                demo.ensure_buyer(tenant, f"buyer-{slug}", name=demo.BUYER_NAMES[slug], password=self.password)
                for username, role, name in demo.EXTRA_BUYERS.get(slug, ()):
                    demo.ensure_buyer(tenant, username, role=role, name=name, password=self.password)
                action = "exists"
            readiness = evaluate(tenant)
            self.stdout.write(
                f"{slug:<10} {action:<8} stage={tenant.stage:<13} {readiness.stage}: {readiness.decision}"
            )
