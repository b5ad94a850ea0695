"""Prove tenant isolation against a running portal, as three real users, and sign the proof.

    CONFIRM_OPERATOR_LAUNCH_PROOF=thesmios-operator-proof LAUNCH_OPERATIONS_SECRET=<secret> \\
    CONFIRM_LAUNCH_OPERATOR_SEED=thesmios-launch-seed THESMIOS_SMOKE_URL=https://portal.example \\
    python manage.py operator_launch_proof --tenant SLUG --seed --include-fixtures --output proof.json

It mutates the portal's own database, so it is refused unless both
``CONFIRM_OPERATOR_LAUNCH_PROOF`` and ``LAUNCH_OPERATIONS_SECRET`` are set. Without
``--tenant`` it proves the fixture tenant ``launch-proof-fixture``. With ``--tenant SLUG``
it proves that customer tenant: refused unless the tenant has a signed order-form version,
and its fixture users are created only behind ``CONFIRM_LAUNCH_OPERATOR_SEED``. When
every check passed, the signed proof is attached as this command's output to gate 5; for a
customer tenant, the authenticated launch-room snapshot too. ``--include-fixtures`` adds
this portal's evidence-download and readiness-API isolation checks to that proof; gate 6's
fixtures run on the platform deployment, so nothing is attached to gate 6. A failed run
attaches nothing at all. The logic lives in ``launchroom.proofs``.
"""

from __future__ import annotations

import os
from typing import Any

import requests
from django.core.management.base import CommandError, CommandParser

from core.errors import Refused
from core.history import SystemCommand
from launchroom.proofs.advisory import finish
from launchroom.proofs.operator import FIXTURE_PLAN, tenant_plan
from launchroom.proofs.operator_run import (
    CONFIRM_VALUE,
    CONFIRM_VARIABLE,
    SECRET_VARIABLE,
    SEED_VALUE,
    SEED_VARIABLE,
    attach_outcome,
    new_session,
    operations_secret,
    require_signed_order_form,
    run_operator_proof,
)
from launchroom.proofs.smoke import SmokeError, SmokeRun, resolve_url

COMMAND = "operator_launch_proof"


def _refusal() -> str:
    return (
        f"operator_launch_proof refused: it seeds fixture users in this portal's database, so set "
        f"{CONFIRM_VARIABLE}={CONFIRM_VALUE} and {SECRET_VARIABLE} (the secret that signs the proof)"
    )


class Command(SystemCommand):
    help = "Seed fixture users, prove tenant isolation over HTTP as three users, and sign the proof."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", help="Base URL of the portal (default: THESMIOS_SMOKE_URL).")
        parser.add_argument("--tenant", metavar="SLUG", help="Prove this customer tenant (its order form signed).")
        parser.add_argument("--seed", action="store_true", help="Create or reset the fixture users.")
        parser.add_argument(
            "--include-fixtures",
            action="store_true",
            help="Also check evidence downloads and the readiness API as each user (part of the gate 5 proof; "
            "gate 6's fixtures run on the platform deployment).",
        )
        parser.add_argument("--output", metavar="FILE", help="Write the signed proof JSON to FILE.")

    def handle(
        self,
        *args: Any,
        url: str | None = None,
        tenant: str | None = None,
        seed: bool = False,
        include_fixtures: bool = False,
        output: str | None = None,
        **options: Any,
    ) -> None:
        secret = operations_secret()
        if os.environ.get(CONFIRM_VARIABLE) != CONFIRM_VALUE or not secret:
            raise CommandError(_refusal())
        if not seed:
            raise CommandError(
                "operator_launch_proof needs --seed: the proof logs in as fixture users whose passwords are set "
                "afresh on every run"
            )
        try:
            if tenant is not None:
                require_signed_order_form(tenant)
                if os.environ.get(SEED_VARIABLE) != SEED_VALUE:
                    raise Refused(
                        f"operator_launch_proof refused: --seed creates fixture users in the customer tenant {tenant}, "
                        f"so set {SEED_VARIABLE}={SEED_VALUE}"
                    )
            plan = tenant_plan(tenant) if tenant is not None else FIXTURE_PLAN
            run = SmokeRun(base_url=resolve_url(url), command=COMMAND, out=self.stdout)
            self.stdout.write(f"Proving tenant access for {plan.target_slug} against {run.target}")
            outcome = run_operator_proof(
                run=run, plan=plan, include_fixtures=include_fixtures, secret=secret, session_factory=new_session
            )
            data = finish(self, run, outcome.report, output, label="Signed proof")
            attached = attach_outcome(outcome, data)
        except Refused as exc:
            raise CommandError(str(exc)) from None
        except SmokeError as exc:
            raise CommandError(str(exc)) from None
        except requests.RequestException as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CommandError(f"request failed: {first[:200]}") from None
        self.stdout.write(f"Attached to {plan.target_slug}: " + ", ".join(attached))
        if include_fixtures:
            self.stdout.write("Nothing attached to gate 6: its fixtures run on the platform deployment")
