"""Gate 7's records: the support plan, the incident log and its manual notices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from core.validation import single_line
from launchroom.models.tenants import Tenant


class SupportPlan(FixedTenantMixin, models.Model):
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
    support_owner_name = models.CharField(max_length=200, blank=True, validators=[single_line])
    support_owner_email = models.EmailField(blank=True)
    escalation_route = models.TextField(blank=True)
    manual_incident_channel = models.TextField(
        blank=True, help_text="Where incidents are communicated by hand, e.g. a shared channel or phone bridge."
    )
    manual_notice_process = models.TextField(
        blank=True,
        help_text="How customers are told by hand while e-mail delivery stays manual: who writes, who approves, "
        "through which channel, and how fast.",
    )
    status_subscribers = models.TextField(blank=True, help_text="One e-mail address per line.")
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FixedTenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
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


class Incident(FixedTenantMixin, models.Model):
    """An incident affecting a tenant, run through the manual support fallback."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="incidents")
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300, validators=[single_line])
    customer_impact = models.TextField()
    broadcast_dry_run_output = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    objects = FixedTenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
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


class IncidentNotice(FixedTenantMixin, models.Model):
    """A manual notice sent about an incident: who was told, how, when and what."""

    fixed_fields = ("incident_id",)

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="notices")
    recipient = models.CharField("who was told", max_length=300, validators=[single_line])
    channel = models.CharField("how", max_length=120, validators=[single_line])
    sent_at = models.DateTimeField("when")
    text = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = FixedTenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger("incident")]
        ordering = ["incident", "sent_at", "id"]

    def __str__(self) -> str:
        return f"Notice to {self.recipient} via {self.channel}"
