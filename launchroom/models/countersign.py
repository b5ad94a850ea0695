"""The operator's countersignature of a buyer's acceptance (docs/RULES.md 5.9). Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger
from launchroom.models.decisions import AcceptanceRecord
from launchroom.models.tenants import Tenant


class CountersignKind(models.TextChoices):
    COUNTERSIGNED = "countersigned", "Countersigned"
    DECLINED = "declined", "Declined"


class AcceptanceCountersignature(AppendOnlyModel):
    """A Thesmios operator's answer to a buyer's ``accepted`` or ``accepted_with_exclusions``
    record: countersigned (gate 9 is met) or declined with a reason (the buyer signs again).

    One answer a record (``record`` is unique): two operators at the same moment leave one.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="countersignatures")
    record = models.OneToOneField(AcceptanceRecord, on_delete=models.PROTECT, related_name="countersignature")
    kind = models.CharField(max_length=20, choices=CountersignKind.choices)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    operator_name = models.CharField(max_length=200)
    operator_role = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    snapshot_sha256 = models.CharField(
        max_length=64, help_text="The acceptance record's snapshot SHA-256: what the buyer signed."
    )
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant_id} · acceptance {self.record_id}: {self.get_kind_display()} by {self.operator_name}"
