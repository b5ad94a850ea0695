"""In-app notifications and each user's e-mail preference: derived rows, no history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from launchroom.models.mail import OutboundEmail
from launchroom.models.tenants import Tenant


class NotificationKind(models.TextChoices):
    FELL_TO_HOLD = "fell_to_hold", "Fell from go to hold"
    READY_FOR_REVIEW = "ready_for_review", "Gate ready for review"
    EVIDENCE_EXPIRING = "evidence_expiring", "Evidence reaching its freshness limit"
    READY_TO_SIGN = "ready_to_sign", "Ready to sign"
    ACCEPTANCE_DECIDED = "acceptance_decided", "Acceptance signed, deferred or rejected"
    ORDER_FORM_SENT = "order_form_sent", "Order form sent for review"
    ORDER_FORM_REVIEWED = "order_form_reviewed", "Buyer approved the order form or asked for changes"
    BILLING_TERMS_CHANGED = "billing_terms_changed", "Billing terms changed after acceptance"
    INCIDENT = "incident", "Incident opened or resolved"
    COMMENT = "comment", "New comment"
    COUNTERSIGN = "countersign", "Acceptance countersigned or declined by the operator"


# Kinds that ask the user to do something: e-mailed at once unless the user chose otherwise.
ACTION_KINDS = frozenset(
    {
        NotificationKind.FELL_TO_HOLD,
        NotificationKind.READY_FOR_REVIEW,
        NotificationKind.EVIDENCE_EXPIRING,
        NotificationKind.READY_TO_SIGN,
        NotificationKind.ORDER_FORM_SENT,
        NotificationKind.ORDER_FORM_REVIEWED,
        NotificationKind.BILLING_TERMS_CHANGED,
    }
)


class EmailMode(models.TextChoices):
    AUTO = "auto", "At once for what needs my action, the rest in a daily digest"
    IMMEDIATE = "immediate", "At once, every notification"
    DIGEST = "digest", "One daily digest"
    OFF = "off", "No e-mail (in-app only)"


class Delivery(models.TextChoices):
    PENDING = "pending", "Waiting for the worker"
    NONE = "none", "In-app only"
    IMMEDIATE = "immediate", "E-mailed at once"
    DIGEST_PENDING = "digest_pending", "Waiting for the daily digest"
    DIGESTED = "digested", "Sent in a digest"


class Notification(FixedTenantMixin, models.Model):
    """One event told to one user. ``event_key`` is unique per recipient: an event is told once."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    event_key = models.CharField(max_length=200)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    delivery = models.CharField(max_length=20, choices=Delivery.choices, default=Delivery.NONE)
    email = models.ForeignKey(OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = FixedTenantQuerySet.as_manager()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"],
                name="notification_once_per_event",
                violation_error_message="This user was already told of this event.",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread_idx"),
            models.Index(fields=["delivery"], name="notification_delivery_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.subject}"

    @property
    def needs_action(self) -> bool:
        return self.kind in ACTION_KINDS


class NotificationPreference(models.Model):
    """How a user wants notifications e-mailed (in-app they always are)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_mode = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.AUTO)
    history = HistoricalRecords()

    class Meta:
        ordering = ["user_id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_email_mode_display()}"
