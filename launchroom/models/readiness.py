"""Stored readiness (a derived projection) and the transitions it has gone through (docs/RULES.md section 11)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel, append_only_trigger, no_truncate_trigger
from core.fixed import FixedTenantMixin, FixedTenantQuerySet, fixed_owner_trigger
from launchroom.models.tenants import Tenant

# The gate columns are named by gate number (catalog.GATES), so the portfolio filters in SQL.
GATE_COLUMNS = tuple(f"gate_{n}" for n in range(1, 11))


def new_room_version() -> str:
    """A fresh random room version: a rolled-back or restored database never meets a key cached after it."""
    return secrets.token_hex(16)


class TenantReadiness(FixedTenantMixin, models.Model):
    """A tenant's readiness as last evaluated: derived data, rewritten by ``launchroom.readiness.projection``.

    Written in the same transaction as every change that can move it (``core.hooks.readiness_may_change``)
    and by ``refresh_readiness`` once ``valid_until`` has passed. Until then it equals a fresh
    ``evaluate()``. No history: it is derived, and may be written in bulk.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="readiness_row")
    stage = models.CharField(max_length=20, help_text="The stage evaluated: the one the tenant is buying.")
    decision = models.CharField(max_length=10)
    running_stage = models.CharField(max_length=20, blank=True, help_text="The beta the tenant runs, if any.")
    running_decision = models.CharField(max_length=10, blank=True)
    fallen_to_hold = models.BooleanField(default=False, help_text="In a beta whose own decision is hold.")
    held_since = models.DateTimeField(null=True, blank=True, help_text="When the running beta fell to hold.")
    gates = models.JSONField(default=dict, help_text="Per gate key: status, effect, in force (requested stage).")
    running_gates = models.JSONField(default=dict, blank=True)
    hold_reasons = models.JSONField(default=list, blank=True)
    running_hold_reasons = models.JSONField(default=list, blank=True)
    do_not_claim = models.JSONField(default=list, blank=True)
    next_actions = models.JSONField(default=dict, blank=True)
    next_action = models.CharField(max_length=500, blank=True)
    waiting_on = models.CharField(
        max_length=200, blank=True, help_text="The roles with a next action, as ',Operator,Buyer,' (filterable)."
    )
    snapshot_sha256 = models.CharField(max_length=64)
    running_snapshot_sha256 = models.CharField(max_length=64, blank=True)
    computed_at = models.DateTimeField()
    valid_until = models.DateTimeField(
        null=True, blank=True, help_text="The earliest time at which time alone changes this row; empty: never."
    )
    room_version = models.CharField(
        max_length=32,
        default=new_room_version,
        help_text="New whenever what the launch room shows changes (launchroom/room/cache.py keys its pages on it).",
    )
    gate_1 = models.CharField(max_length=20, blank=True)
    gate_2 = models.CharField(max_length=20, blank=True)
    gate_3 = models.CharField(max_length=20, blank=True)
    gate_4 = models.CharField(max_length=20, blank=True)
    gate_5 = models.CharField(max_length=20, blank=True)
    gate_6 = models.CharField(max_length=20, blank=True)
    gate_7 = models.CharField(max_length=20, blank=True)
    gate_8 = models.CharField(max_length=20, blank=True)
    gate_9 = models.CharField(max_length=20, blank=True)
    gate_10 = models.CharField(max_length=20, blank=True)

    objects = FixedTenantQuerySet.as_manager()

    class Meta:
        # Every ORM path guards the owner (the base manager too); PostgreSQL refuses a raw UPDATE of it.
        base_manager_name = "objects"
        triggers = [fixed_owner_trigger()]
        ordering = ["tenant__name"]
        verbose_name = "stored readiness"
        verbose_name_plural = "stored readiness"
        indexes = [
            # The portfolio's filters (decision, a gate's status) and its COUNT read this index
            # alone (with the tenant, for the join): the gate columns come after kilobytes of JSON
            # in each row.
            models.Index(fields=["decision", *GATE_COLUMNS, "tenant"], name="readiness_filter"),
            models.Index(fields=["valid_until"], name="readiness_valid_until"),
            # The fallen-to-hold banner, newest first: a few rows of many, so only those.
            models.Index(
                fields=["-held_since", "tenant_id"], name="readiness_fallen_since", condition=Q(fallen_to_hold=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.decision} for {self.stage}"


class ReadinessTransition(AppendOnlyModel):
    """A change of a tenant's decision or of a gate's status: before, after, cause and when. Append-only."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="readiness_transitions")
    stage = models.CharField(max_length=20, help_text="The stage evaluated (the one the tenant is buying).")
    decision_before = models.CharField(max_length=10, blank=True, help_text="Empty: first evaluation.")
    decision_after = models.CharField(max_length=10)
    running_stage = models.CharField(max_length=20, blank=True)
    running_before = models.CharField(max_length=10, blank=True)
    running_after = models.CharField(max_length=10, blank=True)
    gates_changed = models.JSONField(default=list, blank=True, help_text="[{key, number, title, before, after}]")
    cause_kind = models.CharField(max_length=40, help_text="The service called, or 'time'.")
    cause = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        base_manager_name = "objects"  # the append-only manager, on every ORM path
        triggers = [append_only_trigger(), no_truncate_trigger()]
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-at"], name="transition_tenant_at"),
            models.Index(fields=["-at"], name="transition_at"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.decision_before or '-'} → {self.decision_after} ({self.cause_kind})"
