"""Tenants, their stage and flags, and the customer users who are members of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger


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


class TenantMembership(FixedTenantMixin, models.Model):
    """A customer user's access to one tenant's launch room, with their role there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=MembershipRole.choices, default=MembershipRole.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FixedTenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
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
