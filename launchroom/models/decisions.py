"""Decision records: gate decisions, acceptance records, stage moves and the decision-log chain. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger
from launchroom.models.orderforms import OrderForm
from launchroom.models.tenants import LaunchStage, Stage, Tenant


class GateDecisionKind(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    REOPENED = "reopened", "Reopened"


class GateDecision(AppendOnlyModel):
    """An owner's decision on an evidence gate for a tenant. Kept forever."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="gate_decisions")
    gate_key = models.CharField(max_length=40)
    decision = models.CharField(max_length=10, choices=GateDecisionKind.choices)
    note = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["tenant", "gate_key", "-decided_at"], name="gatedecision_lookup")]

    def __str__(self) -> str:
        return f"{self.tenant} · {self.gate_key}: {self.get_decision_display()}"


class AcceptanceDecision(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    ACCEPTED_WITH_EXCLUSIONS = "accepted_with_exclusions", "Accepted with exclusions"
    DEFERRED = "deferred", "Deferred"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded (withdrawn)"


class AcceptanceRecord(AppendOnlyModel):
    """The buyer's signed go/no-go decision for a tenant and stage (gate 9).

    A new record for the same tenant and stage points to the one it replaces through
    ``supersedes``; the replaced row is never written again.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="acceptance_records")
    stage = models.CharField(max_length=20, choices=LaunchStage.choices)
    decision = models.CharField(max_length=30, choices=AcceptanceDecision.choices)
    signer_name = models.CharField(max_length=200)
    signer_role = models.CharField(max_length=200)
    signer_email = models.EmailField()
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The buyer who signed; empty when staff recorded the buyer's written approval.",
    )
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_written_approval = models.BooleanField(
        default=False, help_text="Staff recorded this on the buyer's written approval."
    )
    approval_reference = models.CharField(max_length=120)
    exclusions = models.JSONField(default=list, blank=True)
    residual_risks = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    evidence_references = models.JSONField(
        default=list, blank=True, help_text="The evidence attachments the signer saw: id and SHA-256 of each."
    )
    order_form = models.ForeignKey(OrderForm, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    signed_at = models.DateTimeField()
    client_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    affirmation = models.TextField(blank=True)
    snapshot = models.JSONField(default=dict, blank=True)
    snapshot_sha256 = models.CharField(max_length=64)
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    # docs/RULES.md 5.9: an acceptance meets gate 9 once an operator countersigned it. Records
    # signed before that rule were marked False by the migration that added the field.
    countersign_required = models.BooleanField(
        default=True, help_text="An operator countersigns it before it meets gate 9 (False: signed before the rule)."
    )

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stage"],
                condition=Q(supersedes__isnull=True),
                name="acceptance_one_first_record",
                violation_error_message="This tenant and stage already has an acceptance record; sign a new one "
                "that supersedes it.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} · {self.get_stage_display()}: {self.get_decision_display()} by {self.signer_name}"


class StageChange(AppendOnlyModel):
    """A move of a tenant from one stage to another, with the readiness it rested on."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    reason = models.TextField(blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField()
    snapshot_sha256 = models.CharField(max_length=64, blank=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.get_from_stage_display()} → {self.get_to_stage_display()}"


class DecisionLogEntry(AppendOnlyModel):
    """One link of a tenant's tamper-evident decision log (a SHA-256 hash chain).

    Each gate decision, acceptance record, stage move, order-form signature, billing-fallback
    acceptance, comment and readiness transition appends an entry in the same transaction:
    ``entry_hash = sha256(prev_hash + canonical JSON of the row)``.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="decision_log")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    payload = models.TextField()
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["tenant_id", "seq"]
        verbose_name_plural = "decision log entries"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "seq"],
                name="decisionlog_unique_seq",
                violation_error_message="This link of the decision log already exists.",
            ),
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                name="decisionlog_unique_object",
                violation_error_message="This decision is already in the log.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}#{self.seq} {self.kind} {self.object_id}"
