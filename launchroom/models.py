"""The launch domain: tenants, their members, order forms and every launch decision.

Decision records (GateDecision, AcceptanceRecord, StageChange, DecisionLogEntry) and signed
order-form versions are append-only: ``save()`` refuses to update them, ``delete()`` refuses,
and the queryset refuses ``update()`` and ``delete()``. "Current" and "superseded by" are
derived from the ``supersedes`` link, never stored on the old row.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that cannot bulk-update or bulk-delete its rows."""

    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be updated.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only and cannot be updated.")


class AppendOnlyModel(models.Model):
    """A model whose rows are written once and never changed or deleted."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only and cannot be deleted.")


class Stage(models.TextChoices):
    SETUP = "setup", "Setup"
    PRIVATE_BETA = "private_beta", "Private beta (no-charge)"
    PAID_BETA = "paid_beta", "Paid beta (invoice-led)"
    PAUSED = "paused", "Paused"
    ENDED = "ended", "Ended"


class LaunchStage(models.TextChoices):
    """The stages a customer can buy and a tenant can be evaluated for."""

    PRIVATE_BETA = "private_beta", "Private beta (no-charge)"
    PAID_BETA = "paid_beta", "Paid beta (invoice-led)"


class Tenant(models.Model):
    """A customer tenant being launched through the managed beta."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.SETUP)
    regulated_buyer = models.BooleanField(
        default=False,
        help_text="A regulated buyer is held until its security and procurement pack is accepted (gate 8).",
    )
    issuer_fixture_configured = models.BooleanField(
        default=False, help_text="Issuer keys and auth fixtures are configured (gate 6 issuer fixture counts)."
    )
    evidence_fixture_configured = models.BooleanField(
        default=False, help_text="The job runner secret is configured (gate 6 evidence fixture counts)."
    )
    audit_export_configured = models.BooleanField(
        default=False, help_text="Private storage is configured (gate 6 audit export fixture counts)."
    )
    controlled_send_configured = models.BooleanField(
        default=False,
        help_text="An e-mail provider key and sender reputation are configured (gate 7 controlled send counts).",
    )
    commercial_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_tenants",
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("move_stage", "Can move a tenant's launch stage"),
            ("invite_buyer", "Can invite buyers to a tenant's launch room"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("launchroom:room", args=[self.slug])

    def is_configured(self, flag: str) -> bool:
        return bool(getattr(self, flag))


class MembershipRole(models.TextChoices):
    BUYER_SPONSOR = "buyer_sponsor", "Buyer sponsor"
    BUYER_FINANCE = "buyer_finance", "Buyer finance"
    VIEWER = "viewer", "Viewer"


class TenantMembership(models.Model):
    """A customer user's access to one tenant's launch room, with their role there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=MembershipRole.choices, default=MembershipRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__name", "user__username"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"],
                name="membership_unique_user_tenant",
                violation_error_message="This user is already a member of this tenant.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant} ({self.get_role_display()})"


class OrderFormStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to buyer"
    SIGNED = "signed", "Signed"


class OrderFormQuerySet(models.QuerySet):
    def signed(self) -> OrderFormQuerySet:
        return self.filter(status=OrderFormStatus.SIGNED)


class OrderForm(models.Model):
    """One version of a tenant's order form: the scope the customer is buying.

    A signed version is frozen. A change to it makes a new draft version; once that is
    signed the old one counts as superseded, which is derived from the newer signed
    version and never written to the old row.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="order_forms")
    version = models.PositiveIntegerField()
    requested_stage = models.CharField(max_length=20, choices=LaunchStage.choices, default=LaunchStage.PRIVATE_BETA)
    compliance_modules = models.TextField(blank=True, help_text="One module per line.")
    cohort_description = models.TextField("worker cohort", blank=True)
    cohort_size = models.PositiveIntegerField("cohort size", null=True, blank=True)
    verifier_audience = models.TextField(blank=True)
    data_boundaries = models.TextField(blank=True)
    excluded_claims = models.TextField(
        blank=True, help_text="One excluded claim per line. The four standing exclusions must be listed (gate 10)."
    )
    acceptance_language = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=OrderFormStatus.choices, default=OrderFormStatus.DRAFT)
    approval_reference = models.CharField(max_length=120, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signer_name = models.CharField("signed by (customer)", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderFormQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__name", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version"],
                name="orderform_unique_version",
                violation_error_message="This tenant already has an order form with this version.",
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=~Q(status="signed"),
                name="orderform_one_open_version",
                violation_error_message="This tenant already has an unsigned order-form version; edit that one.",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed") | (~Q(approval_reference="") & Q(signed_at__isnull=False)),
                name="orderform_signed_has_reference",
                violation_error_message="A signed order form needs an approval reference and a signed date.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} order form v{self.version} ({self.get_status_display()})"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding and self.pk:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == OrderFormStatus.SIGNED:
                raise AppendOnlyError("A signed order form is frozen; revise it into a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.is_signed:
            raise AppendOnlyError("A signed order form cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.status == OrderFormStatus.SIGNED

    def lines(self, field: str) -> list[str]:
        return [line.strip() for line in getattr(self, field).splitlines() if line.strip()]


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

    history = HistoricalRecords()

    class Meta:
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
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.get_from_stage_display()} → {self.get_to_stage_display()}"


class DecisionLogEntry(AppendOnlyModel):
    """One link of a tenant's tamper-evident decision log (a SHA-256 hash chain).

    Each gate decision, acceptance record and stage move appends an entry in the same
    transaction: ``entry_hash = sha256(prev_hash + canonical JSON of the row)``.
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
        ordering = ["tenant_id", "seq"]
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


class SupportPlan(models.Model):
    """How a tenant is supported during the managed beta (gate 7's records)."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="support_plan")
    support_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    support_owner_name = models.CharField(max_length=200, blank=True)
    support_owner_email = models.EmailField(blank=True)
    escalation_route = models.TextField(blank=True)
    manual_incident_channel = models.TextField(
        blank=True, help_text="Where incidents are communicated by hand, e.g. a shared channel or phone bridge."
    )
    status_subscribers = models.TextField(blank=True, help_text="One e-mail address per line.")
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"Support plan for {self.tenant}"

    @property
    def subscribers(self) -> list[str]:
        return [line.strip() for line in self.status_subscribers.splitlines() if line.strip()]


class Severity(models.TextChoices):
    SEV1 = "sev1", "SEV1: outage"
    SEV2 = "sev2", "SEV2: major degradation"
    SEV3 = "sev3", "SEV3: minor issue"
    SEV4 = "sev4", "SEV4: informational"


class Incident(models.Model):
    """An incident affecting a tenant, run through the manual support fallback."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="incidents")
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300)
    customer_impact = models.TextField()
    broadcast_dry_run_output = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=models.F("opened_at")),
                name="incident_resolved_after_opened",
                violation_error_message="An incident cannot be resolved before it was opened.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant} · {self.get_severity_display()}: {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class IncidentNotice(models.Model):
    """A manual notice sent about an incident: who was told, how, when and what."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notices")
    recipient = models.CharField("who was told", max_length=300)
    channel = models.CharField("how", max_length=120)
    sent_at = models.DateTimeField("when")
    text = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["incident", "sent_at", "id"]

    def __str__(self) -> str:
        return f"Notice to {self.recipient} via {self.channel}"


class ApiToken(models.Model):
    """A per-user API token for automation. Only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=12, editable=False)
    key_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["key_sha256"])

    class Meta:
        ordering = ["user__username", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate_key() -> str:
        return "thes_" + secrets.token_urlsafe(32)
