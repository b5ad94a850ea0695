"""The per-tenant conversation: buyers and staff comment on a gate or an order-form version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger
from core.fixed import FixedTenantMixin
from launchroom import catalog
from launchroom.models.orderforms import OrderForm
from launchroom.models.tenants import Tenant


class Comment(FixedTenantMixin, AppendOnlyModel):
    """One message in a tenant's launch conversation, about a gate or an order-form version.

    Kept for good: a comment is never edited or deleted (append-only), so the thread is the
    record of what buyers and staff said to each other.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    gate_key = models.CharField("gate", max_length=60, blank=True)
    order_form = models.ForeignKey(OrderForm, on_delete=models.PROTECT, null=True, blank=True, related_name="comments")
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["tenant__name", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(gate_key="") & Q(order_form__isnull=False))
                | (~Q(gate_key="") & Q(order_form__isnull=True)),
                name="comment_on_gate_or_order_form",
                violation_error_message="A comment is about one gate or one order-form version.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} · {self.subject} · {self.author}"

    @property
    def subject(self) -> str:
        if self.order_form is not None:
            return f"order form v{self.order_form.version}"
        gate = catalog.GATES_BY_KEY.get(self.gate_key)
        return f"gate {gate.number}: {gate.title}" if gate else self.gate_key
