"""Tenants, their stage and flags, and the customer users who are members of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.urls import reverse
from simple_history.models import HistoricalRecords

from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from core.types import RequestUser
from core.validation import single_line


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


class TenantQuerySet(models.QuerySet["Tenant"]):
    """Tenants, narrowed to what a user may see: the one place tenant isolation is decided
    (docs/RULES.md section 1)."""

    def restrict(self, user: RequestUser) -> TenantQuerySet:
        """The tenants ``user`` may see: every one for active staff, those an active customer
        is a member of, none for anyone else (anonymous, deactivated). Anything outside
        this answers 404, as a tenant that does not exist does."""
        if not (user.is_authenticated and user.is_active):
            return self.none()
        if user.is_staff:
            return self
        return self.filter(memberships__user=user)

    def with_role(self, user: RequestUser) -> TenantQuerySet:
        """Each tenant annotated with ``member_role``: ``user``'s membership role there
        (None for staff, who are never members, and for anyone who is not a member)."""
        if not user.is_authenticated:
            return self.annotate(member_role=Value(None, output_field=models.CharField()))
        role = TenantMembership.objects.filter(tenant=OuterRef("pk"), user=user).values("role")[:1]
        return self.annotate(member_role=Subquery(role))


class Tenant(models.Model):
    """A customer tenant being launched through the managed beta."""

    name = models.CharField(max_length=200, validators=[single_line])
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

    objects = TenantQuerySet.as_manager()
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
