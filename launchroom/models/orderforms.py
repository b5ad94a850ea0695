"""Order forms: versioned scope; a signed version is frozen and a change becomes the next version."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyError, frozen_trigger, no_truncate_trigger
from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from launchroom import catalog
from launchroom.models.tenants import LaunchStage, Tenant


class OrderFormStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to buyer"
    CHANGES_REQUESTED = "changes_requested", "Changes requested by buyer"
    APPROVED = "approved", "Approved by buyer"
    SIGNED = "signed", "Signed"


class OrderFormQuerySet(FixedTenantQuerySet):
    """Signed versions are frozen on every ORM path: a bulk ``update()``, ``delete()`` or
    ``bulk_update()`` that would touch one refuses, and none of them signs a draft (signing
    is ``order_form_sign``'s, with its approval reference and its decision-log link)."""

    def signed(self) -> OrderFormQuerySet:
        return self.filter(status=OrderFormStatus.SIGNED)

    def _refuse_signed(self, queryset: models.QuerySet, what: str) -> None:
        # Locked, so that a version signed meanwhile cannot slip under the update.
        signed = list(
            queryset.filter(status=OrderFormStatus.SIGNED).order_by().select_for_update().values_list("version")[:1]
        )
        if signed:
            raise AppendOnlyError(f"A signed order form is frozen and cannot be {what} (v{signed[0][0]}).")

    def update(self, **kwargs: Any) -> int:
        if kwargs.get("status") == OrderFormStatus.SIGNED:
            raise AppendOnlyError("Sign an order form with order_form_sign, not by updating its status.")
        with transaction.atomic(using=self.db):
            self._refuse_signed(self, "updated")
            return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=self.db):
            self._refuse_signed(self, "deleted")
            return super().delete()

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        # An upsert may meet a signed row through any unique key (the id, the tenant and
        # version): no upsert at all (``update_conflicts``, also the fourth positional argument).
        if kwargs.get("update_conflicts") or (len(args) > 2 and args[2]):
            raise AppendOnlyError("Order forms are not written by an upsert: a signed version is frozen.")
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Iterable[OrderForm], fields: Any, batch_size: int | None = None) -> int:
        objs = list(objs)
        if "status" in fields and any(o.status == OrderFormStatus.SIGNED for o in objs):
            raise AppendOnlyError("Sign an order form with order_form_sign, not by a bulk update.")
        with transaction.atomic(using=self.db):
            self._refuse_signed(self.model._base_manager.filter(pk__in=[o.pk for o in objs]), "updated")
            return super().bulk_update(objs, fields, batch_size=batch_size)


class OrderForm(FixedTenantMixin, models.Model):
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
    status = models.CharField(max_length=20, choices=OrderFormStatus.choices, default=OrderFormStatus.DRAFT)
    approval_reference = models.CharField(max_length=120, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signer_name = models.CharField("signed by (customer)", max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField("sent to buyer", null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    buyer_approved_at = models.DateTimeField("approved by buyer at", null=True, blank=True)
    buyer_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    buyer_approver_name = models.CharField("approved by (buyer)", max_length=200, blank=True)
    buyer_approver_role = models.CharField("approver's role", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderFormQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant__name", "-version"]
        # The base manager refuses too (``_base_manager.filter(...).update()`` once skipped the refusals).
        base_manager_name = "objects"
        # On PostgreSQL the database refuses too: no UPDATE or DELETE of a signed row, no new tenant for
        # any, no TRUNCATE.
        triggers = [
            frozen_trigger(
                pgtrigger.Q(old__status="signed"), name="signed_frozen", reason="a signed order form is frozen"
            ),
            fixed_owner_trigger(),
            no_truncate_trigger("signed order forms are frozen"),
        ]
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever the instance's state: a new instance carrying a signed row's key would be
        # saved as an UPDATE of that row.
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == OrderFormStatus.SIGNED:
                raise AppendOnlyError("A signed order form is frozen; revise it into a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.is_signed:
            raise AppendOnlyError("A signed order form cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.status == OrderFormStatus.SIGNED

    @property
    def buyer_approval_reference(self) -> str:
        """The buyer's approval in the launch room as a written reference: who, in what role, when."""
        if self.buyer_approved_at is None:
            return ""
        when = self.buyer_approved_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"Approved in the launch room by {self.buyer_approver_name}, {self.buyer_approver_role}, {when}"[:120]

    def missing_standing_exclusions(self) -> list[str]:
        """The standing excluded claims (gate 10) this version does not list."""
        listed = {line.casefold() for line in self.lines("excluded_claims")}
        return [claim for claim in catalog.STANDING_EXCLUSIONS if claim.casefold() not in listed]

    def lines(self, field: str) -> list[str]:
        return [line.strip() for line in getattr(self, field).splitlines() if line.strip()]
