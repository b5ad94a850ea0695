"""Outbound e-mail and the background work around it: derived rows, no history.

Every e-mail the portal sends (invitations, password resets, the controlled broadcast send,
notifications and digests) is an ``OutboundEmail`` row written in the caller's transaction
and sent by the worker after commit, with retries; a permanent failure stays visible here.
"""

from __future__ import annotations

from django.db import models

from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from launchroom.models.tenants import Tenant, TenantMembership


class EmailStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "E-mail failed"


class EmailKind(models.TextChoices):
    INVITATION = "invitation", "Invitation"
    PASSWORD_RESET = "password_reset", "Password reset"
    BROADCAST = "broadcast", "Status broadcast (controlled send)"
    NOTIFICATION = "notification", "Notification"
    DIGEST = "digest", "Daily digest"


class OutboundEmail(FixedTenantMixin, models.Model):
    """One e-mail to one address, queued on commit and sent by the background worker."""

    kind = models.CharField(max_length=20, choices=EmailKind.choices)
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        TenantMembership, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    sending_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the attempt under way began; set before the message leaves, cleared when the "
        "attempt ends. Still set past the task lease: the worker stopped mid-send.",
    )
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    objects = FixedTenantQuerySet.as_manager()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="outboundemail_status_idx")]
        verbose_name = "outbound e-mail"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to}: {self.get_status_display()}"


class ScheduledRun(models.Model):
    """One period of one periodic job, claimed once: the unique key stops two schedulers
    (or two restarts) from enqueueing the same period twice."""

    job = models.CharField(max_length=60)
    period = models.CharField(max_length=40, help_text="The period's key, e.g. 2026-12-01T10 for an hourly job.")
    enqueued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-enqueued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "period"],
                name="scheduledrun_once_per_period",
                violation_error_message="This job already ran for this period.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.period}"
