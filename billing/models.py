"""The tenant's billing profile: the invoice-led route of gate 4."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger
from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from core.validation import single_line


def terms_fingerprint(tenant_id: int | None, terms: dict[str, object]) -> str:
    """SHA-256 of a tenant's billing terms (also used by migration 0002 to re-fingerprint)."""
    data = {**terms, "tenant_id": tenant_id}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class BillingRoute(models.TextChoices):
    INVOICE_ONLY = "invoice_only", "Invoice only"
    STRIPE_READY = "stripe_ready", "Stripe-ready (invoice until self-serve is proven)"


class BillingProfile(FixedTenantMixin, models.Model):
    """How a tenant is billed during the managed beta, and the buyer's acceptance of it.

    The buyer's acceptance of the manual billing fallback covers the terms as they were
    when accepted: ``fallback_terms_sha256`` fingerprints them, so a later change to the
    terms needs a fresh acceptance before gate 4 is met again.
    """

    TERMS_FIELDS = (
        "route",
        "billing_owner_name",
        "billing_owner_email",
        "po_terms",
        "invoice_contact",
        "plan",
        "seat_cap",
        "renewal_terms",
        "cancellation_terms",
    )

    tenant = models.OneToOneField("launchroom.Tenant", on_delete=models.CASCADE, related_name="billing_profile")
    route = models.CharField(max_length=20, choices=BillingRoute.choices, default=BillingRoute.INVOICE_ONLY)
    billing_owner_name = models.CharField(max_length=200, blank=True, validators=[single_line])
    billing_owner_email = models.EmailField(blank=True)
    po_terms = models.TextField("purchase-order terms", blank=True)
    invoice_contact = models.CharField(max_length=300, blank=True, validators=[single_line])
    plan = models.CharField(max_length=120, blank=True, validators=[single_line])
    seat_cap = models.PositiveIntegerField(null=True, blank=True)
    renewal_terms = models.TextField(blank=True)
    cancellation_terms = models.TextField(blank=True)
    fallback_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    fallback_accepted_name = models.CharField(max_length=200, blank=True, validators=[single_line])
    fallback_accepted_at = models.DateTimeField(null=True, blank=True)
    fallback_terms_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    fallback_acceptance = models.ForeignKey(
        "BillingFallbackAcceptance",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        help_text="The latest acceptance of the manual billing fallback (its append-only record).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = FixedTenantQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"Billing profile for {self.tenant}"

    def terms(self) -> dict[str, object]:
        """The terms the buyer accepts with the manual billing fallback, as they stand."""
        return {name: getattr(self, name) for name in self.TERMS_FIELDS}

    def terms_sha256(self) -> str:
        """A fingerprint of the terms the buyer accepts with the manual billing fallback.

        It binds the tenant too: the same terms on another tenant's profile are another
        acceptance, by another buyer."""
        return terms_fingerprint(self.tenant_id, {name: getattr(self, name) for name in self.TERMS_FIELDS})

    def missing_terms(self) -> list[str]:
        """The labels of the gate 4 terms that are not filled in."""
        missing = []
        if not (self.billing_owner_name and self.billing_owner_email):
            missing.append("billing owner (name and e-mail)")
        if not (self.po_terms or self.invoice_contact):
            missing.append("purchase-order terms or invoice contact")
        if not self.plan:
            missing.append("plan")
        if not self.seat_cap:
            missing.append("seat cap")
        if not self.renewal_terms:
            missing.append("renewal terms")
        if not self.cancellation_terms:
            missing.append("cancellation terms")
        return missing

    def terms_changed_since_acceptance(self) -> list[dict[str, object]]:
        """Each term that differs from the terms as the buyer last accepted them (the
        acceptance record's snapshot): its label, then and now. Empty when never accepted."""
        accepted = self.fallback_acceptance
        if accepted is None:
            return []
        changes = []
        for name in self.TERMS_FIELDS:
            then, now = accepted.terms.get(name), getattr(self, name)
            if then != now:
                field = self._meta.get_field(name)
                assert isinstance(field, models.Field)  # a concrete column of the terms
                labels = dict(field.choices or ())
                changes.append(
                    {
                        "label": str(field.verbose_name).capitalize(),
                        "then": labels.get(then, then) if then not in (None, "") else "not set",
                        "now": labels.get(now, now) if now not in (None, "") else "not set",
                    }
                )
        return changes

    @property
    def fallback_accepted(self) -> bool:
        """Whether the buyer accepted the manual billing fallback for the terms as they stand."""
        return bool(self.fallback_accepted_at) and self.fallback_terms_sha256 == self.terms_sha256()


class BillingFallbackAcceptance(AppendOnlyModel):
    """One acceptance of the manual billing fallback: who accepted which terms, and when.

    Append-only and chained into the tenant's decision log. The profile is edited over
    time; this row keeps the terms as they were accepted and their fingerprint, and the
    profile points at the latest one.
    """

    tenant = models.ForeignKey(
        "launchroom.Tenant", on_delete=models.PROTECT, related_name="billing_fallback_acceptances"
    )
    profile = models.ForeignKey(BillingProfile, on_delete=models.PROTECT, related_name="fallback_acceptances")
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accepted_name = models.CharField(max_length=200, validators=[single_line])
    accepted_at = models.DateTimeField()
    terms = models.JSONField(default=dict, help_text="The billing terms as they were accepted.")
    terms_sha256 = models.CharField(max_length=64)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-accepted_at", "-id"]

    def __str__(self) -> str:
        return f"Manual billing fallback for {self.tenant} accepted by {self.accepted_name}"
