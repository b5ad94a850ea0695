"""List the acceptance records that wait for an operator's countersignature (docs/RULES.md 5.9)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from core.history import SystemCommand
from launchroom.acceptance.countersign import awaiting_countersignature


class Command(SystemCommand):
    help = (
        "List every current accepted record that no Thesmios operator has countersigned or declined yet, oldest "
        "first, with where to act. Records signed before countersignatures were required are not listed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for record in awaiting_countersignature():
            count += 1
            where = reverse("admin:launchroom_acceptancerecord_countersign", args=[record.pk])
            self.stdout.write(
                f"{record.tenant.slug}\t{record.stage}\trecord {record.pk}\t{record.get_decision_display()} by "
                f"{record.signer_name} ({record.signer_email}), {record.signed_at:%Y-%m-%d %H:%M}\t{where}"
            )
        self.stdout.write(f"{count} acceptance record(s) awaiting countersignature.")
